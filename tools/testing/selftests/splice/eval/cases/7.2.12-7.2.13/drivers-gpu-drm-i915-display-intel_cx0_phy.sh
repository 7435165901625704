# SPDX-License-Identifier: GPL-2.0
# drivers-gpu-drm-i915-display-intel_cx0_phy (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="intel_c20_compute_hdmi_tmds_pll"
unreached_why="it computes the HDMI clock of an Intel C20 display PHY (Meteor Lake and later); the VM has no Intel GPU"
unobservable=$unreached_why
