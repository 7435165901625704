/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The functions of the splice target samples that sample packs replace. They
 * are global and noinline so that each stays one function in the running
 * kernel, as most real targets are.
 */
#ifndef _SAMPLES_SPLICE_TARGET_H
#define _SAMPLES_SPLICE_TARGET_H

int splice_target_hook_ran(unsigned int kind);
int splice_target_compute(int x);
int splice_target_scale_a(int x);
int splice_target_scale_b(int x);
long splice_target_step0(long x);
long splice_target_step1(long x);
long splice_target_step2(long x);
long splice_target_step3(long x);
long splice_target_step4(long x);
long splice_target_step5(long x);
long splice_target_step6(long x);
long splice_target_step7(long x);
long splice_target_step8(long x);
long splice_target_step9(long x);
void splice_target_hold(void);

const char *splice_target_mod_greeting(void);
int splice_target_mod_level(int x);
int splice_target_biased(int x);
long splice_target_noinstr(long x);

/* Used by both targets, in vmlinux and in the module: a header change. */
static inline int splice_target_bias(void)
{
	return 0;
}

#endif /* _SAMPLES_SPLICE_TARGET_H */
