# SPDX-License-Identifier: GPL-2.0
# drivers-power-supply-power_supply_core-hand (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="power_supply_dev_release __power_supply_changed_work power_supply_external_power_changed power_supply_unregister"
unreached_why="the VM has no power supply device (QEMU gives it no battery or AC adapter)"
unobservable=$unreached_why
