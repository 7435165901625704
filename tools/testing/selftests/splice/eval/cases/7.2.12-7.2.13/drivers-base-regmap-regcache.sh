# SPDX-License-Identifier: GPL-2.0
# drivers-base-regmap-regcache (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="regcache_exit regcache_init"
unreached_why="register maps with a cache are made when drivers of I2C, SPI or MMIO register devices probe; the VM has none"
unobservable=$unreached_why
