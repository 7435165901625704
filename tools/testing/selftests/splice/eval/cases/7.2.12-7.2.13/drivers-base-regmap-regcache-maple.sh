# SPDX-License-Identifier: GPL-2.0
# drivers-base-regmap-regcache-maple (make eval, 7.2.12 -> 7.2.13): what the VM cannot reach of it.
unreached="regcache_maple_exit"
unreached_why="register maps with a maple tree cache are made when drivers of I2C, SPI or MMIO register devices probe; the VM has none"
unobservable=$unreached_why
