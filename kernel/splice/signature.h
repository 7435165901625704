/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KERNEL_SPLICE_SIGNATURE_H
#define _KERNEL_SPLICE_SIGNATURE_H

struct module;

int splice_module_code_allowed(struct module *mod);

#endif
