/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SPLICE_MODULES_H
#define _SPLICE_MODULES_H

struct module;

/* modules.c: registers the module notifier; called once, at init. */
int splice_modules_init(void);

/* modules.rs: the targets of applied packs in @mod, when it comes and goes. */
int splice_module_coming(struct module *mod);
void splice_module_going(struct module *mod);

#endif
