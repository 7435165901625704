// SPDX-License-Identifier: GPL-2.0
/*
 * Whether a pack's code may go into the running kernel now.
 *
 * A pack is a module, and loading it passed the kernel's rules for modules
 * as they were then. An unsigned pack loaded before module.sig_enforce was
 * turned on, or before lockdown was raised, would otherwise put unsigned
 * code into the kernel under rules that no longer allow it: applying it
 * faces the rules that loading it would face now.
 */
#include <linux/module.h>
#include <linux/security.h>

#include "signature.h"

/*
 * 0 if the code of @mod may run in place of the kernel's: its signature was
 * verified when it loaded, or unsigned modules are allowed now. Otherwise
 * -EKEYREJECTED (signatures are enforced) or lockdown's error.
 */
int splice_module_code_allowed(struct module *mod)
{
#ifdef CONFIG_MODULE_SIG
	if (mod->sig_ok)
		return 0;
#endif
	if (is_module_sig_enforced())
		return -EKEYREJECTED;
	return security_locked_down(LOCKDOWN_MODULE_SIGNATURE);
}
