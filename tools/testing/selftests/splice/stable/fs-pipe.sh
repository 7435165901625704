# fs/pipe.c: pipe_fasync() undoes the readers' entry only if this call added
# it (a FIFO open for reading and writing whose writers' entry fails).
workload() {
	splice-probe pipe-fasync >/dev/null || fail "splice-probe pipe-fasync: $(splice-probe pipe-fasync)"
}
unobservable="the two versions differ only when fasync_helper() fails for the writers' list, an allocation failure this kernel cannot inject (no FAULT_INJECTION)"
