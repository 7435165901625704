# SPDX-License-Identifier: GPL-2.0
# drivers-gpu-drm-i915-display-intel_dmc (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="dmc_load_work_fn"
unreached_why="it loads an Intel GPU's display microcontroller firmware; the VM has no Intel GPU"
unobservable=$unreached_why
