// SPDX-License-Identifier: GPL-2.0

//! The registry of packs: what pack modules register, under one lock ([`REGISTRY`]), held
//! for reads and state changes. Actions are serialized by another ([`ACTIONS`]), taken first:
//! concurrent writes to `stage` of any packs run one after the other, while an action holds
//! the registry lock only to read what it needs and to record what it did (run-pre matching
//! runs on a copy, [`Matching`]; the hooks, the stop and the sleeps between tries on what
//! the action copied), so readers do not wait for an action. Unregistering a pack whose
//! action runs, or that is applied, takes [`ACTIONS`] too: the action ends before the pack
//! goes; the loading and unloading of other packs waits for nothing.

use crate::hooks::Hooks;
use crate::pack::{Held, Pack};
use crate::stackcheck::Conflict;
use crate::stage::{Life, Stage};
use crate::sysfs::{PackFiles, Root};
use kernel::bindings;
use kernel::kobject::Dir;
use kernel::module_ref::ModuleRef;
use kernel::prelude::*;
use kernel::str::CString;

/// Number of tries of the safety check before `code_busy`, and the pause between them.
pub(crate) const DEFAULT_TRIES: u32 = 5;
pub(crate) const DEFAULT_RETRY_DELAY_MS: u32 = 200;

/// One target of a pack, once checked.
#[derive(Clone, Copy)]
pub(crate) struct TargetState {
    /// Its index among the pack's targets ([`Pack::target_name`]).
    pub(crate) target: usize,
    /// The function's entry and size in the running kernel.
    pub(crate) addr: usize,
    pub(crate) size: usize,
    /// The code that ran before this pack (another pack's replacement when stacked).
    pub(crate) live: usize,
    pub(crate) live_size: usize,
    /// Where the jump goes, the bytes a reverse writes back, and the jump.
    pub(crate) site: usize,
    pub(crate) saved: [u8; 5],
    pub(crate) jump: [u8; 5],
    /// The bytes at the site when the pack is applied: `saved`, but for a replace pack taking
    /// over a target of the packs it replaces (their jump there; `saved` is then the code
    /// the kernel had before any of them).
    pub(crate) before: [u8; 5],
    /// For a function with no room for the jump after its entry: the short jump there to
    /// `site`, the start of the function's prefix.
    pub(crate) hop: Option<Hop>,
    /// The replacement.
    pub(crate) repl: usize,
    pub(crate) repl_size: usize,
}

/// A 2-byte `jmp rel8` after a target's entry to its jump, written with it.
#[derive(Clone, Copy)]
pub(crate) struct Hop {
    pub(crate) at: usize,
    pub(crate) saved: [u8; 2],
    pub(crate) jump: [u8; 2],
    /// The bytes there when the pack is applied ([`TargetState::before`]).
    pub(crate) before: [u8; 2],
}

impl TargetState {
    /// The bytes of the function itself that the switch writes: the hop, or the jump.
    pub(crate) fn written(&self) -> (usize, usize) {
        match self.hop {
            Some(h) => (h.at, h.at + crate::matcher::HOP_LEN),
            None => (self.site, self.site + crate::matcher::JMP_LEN),
        }
    }
}

/// Figures of the last action.
#[derive(Clone, Copy, Default)]
pub(crate) struct Timings {
    pub(crate) match_ns: u64,
    pub(crate) pause_ns: u64,
    pub(crate) stack_check_ns: u64,
    /// NMIs held on the other CPUs and the jumps written, part of `pause_ns`.
    pub(crate) commit_ns: u64,
    /// Stacks walked inside the stop (those of tasks that ran since the walk before it).
    pub(crate) stop_walks: u64,
    pub(crate) stop_machine_ns: u64,
    pub(crate) total_ns: u64,
    pub(crate) tries: u32,
    /// Tasks moved out of the code to let the switch happen ([`crate::park`]).
    pub(crate) parked: u64,
    /// For a pack that patches modules when they load: how long the last module's load
    /// spent matching and redirecting its targets ([`crate::modules`]).
    pub(crate) load_ns: u64,
}

/// A registered pack.
pub(crate) struct Entry {
    pub(crate) id: u64,
    /// The pack and the replacements, in its module: the module's exit removes the entry.
    pub(crate) held: Held,
    pub(crate) owner: *mut bindings::module,
    pub(crate) hooks: Hooks,
    pub(crate) life: Life,
    pub(crate) targets: KVec<TargetState>,
    pub(crate) conflicts: KVec<Conflict>,
    /// How many tasks blocked the last try (more than `conflicts` may hold).
    pub(crate) busy: usize,
    /// While applied, for a pack that patches modules when they load: its targets whose
    /// module is not loaded (their index), redirected when it loads.
    pub(crate) waiting: KVec<usize>,
    pub(crate) timings: Timings,
    /// Order in which applied packs were applied; 0 when not applied.
    pub(crate) applied_seq: u64,
    /// While applied: the pack's own module and the modules whose code it replaced, kept
    /// from being unloaded.
    pub(crate) pins: KVec<ModuleRef>,
    pub(crate) build_id_differs: bool,
    /// The key of the registration: the descriptor the module passed.
    pub(crate) desc: usize,
    /// An action of this pack runs (with the registry let go, on what it copied of the pack):
    /// unregistering waits for it ([`ACTIONS`]).
    pub(crate) acting: bool,
    pub(crate) dir: Option<Dir<PackFiles>>,
}

// SAFETY: The raw pointers point into the pack module, which stays loaded while the entry is
// registered; they are only used under the registry lock.
unsafe impl Send for Entry {}

impl Entry {
    /// The pack, for as long as the entry is borrowed.
    pub(crate) fn pack(&self) -> Pack<'_> {
        self.held.pack()
    }

    /// The pack's name.
    pub(crate) fn name(&self) -> &CStr {
        self.held.pack().name()
    }

    /// The name of the pack's module (`owner`).
    pub(crate) fn module(&self) -> &CStr {
        // SAFETY: `owner` is the registering module; it stays loaded while its entry is
        // registered, which `self` is borrowed from.
        unsafe { kernel::module_ref::name_of(self.owner) }
    }
}

/// All packs, and the tunables.
pub(crate) struct Registry {
    pub(crate) root: Option<&'static Dir<Root>>,
    pub(crate) packs: KVec<Entry>,
    pub(crate) next_id: u64,
    pub(crate) next_seq: u64,
    pub(crate) tries: u32,
    pub(crate) retry_delay_ms: u32,
    /// Whether tasks asleep in the code are moved out of it ([`crate::park`]).
    pub(crate) park: bool,
    /// Whether a module whose code does not match an applied pack that waits for it is
    /// refused (or loads unpatched, its targets still waiting: [`crate::modules`]).
    pub(crate) refuse_mismatched_modules: bool,
}

impl Registry {
    const fn new() -> Self {
        Self {
            root: None,
            packs: KVec::new(),
            next_id: 1,
            next_seq: 1,
            tries: DEFAULT_TRIES,
            retry_delay_ms: DEFAULT_RETRY_DELAY_MS,
            park: true,
            refuse_mismatched_modules: true,
        }
    }

    pub(crate) fn get(&self, id: u64) -> Option<&Entry> {
        self.packs.iter().find(|e| e.id == id)
    }

    pub(crate) fn get_mut(&mut self, id: u64) -> Option<&mut Entry> {
        self.packs.iter_mut().find(|e| e.id == id)
    }

    /// The applied packs' targets: (order applied, pack id, target).
    fn applied_targets(&self) -> impl Iterator<Item = (u64, u64, &TargetState)> {
        self.packs
            .iter()
            .filter(|e| e.life.stage() == Stage::Applied)
            .flat_map(|e| e.targets.iter().map(move |t| (e.applied_seq, e.id, t)))
    }

    /// The applied pack (id) and target that redirect `addr` now, if any.
    pub(crate) fn owner_of(&self, addr: usize) -> Option<(u64, TargetState)> {
        top_of(self.applied_targets(), addr)
    }

    /// What run-pre matching of pack `id` reads, copied out of the registry so that matching
    /// runs with the registry lock let go; the pack's module is pinned meanwhile. `None` if
    /// the pack is gone or its module is going away.
    pub(crate) fn matching(&self, id: u64) -> Result<Option<Matching>> {
        let Some(e) = self.get(id) else {
            return Ok(None);
        };
        // SAFETY: `owner` is the live module of a registered pack: the registry lock is held.
        let Some(pin) = (unsafe { ModuleRef::get(e.owner) }) else {
            return Ok(None);
        };
        let mut applied = KVec::new();
        for (seq, id, t) in self.applied_targets() {
            applied.push((seq, id, *t), GFP_KERNEL)?;
        }
        let mut applied_packs = KVec::new();
        for p in self.packs.iter() {
            if p.id != id && p.life.stage() == Stage::Applied {
                applied_packs.push(p.id, GFP_KERNEL)?;
            }
        }
        // INVARIANT: `pin` holds the pack's module, where `held` points.
        Ok(Some(Matching {
            // SAFETY: `pin` holds the pack's module while the copy lives (the invariant).
            held: unsafe { e.held.share() },
            applied: Applied(applied),
            applied_packs,
            _pin: pin,
        }))
    }
}

/// The target that redirects `addr` among `targets` (order applied, pack id, target): the
/// pack applied last wins, the top of the stack of packs over `addr`.
fn top_of<'a>(
    targets: impl Iterator<Item = (u64, u64, &'a TargetState)>,
    addr: usize,
) -> Option<(u64, TargetState)> {
    let mut top: Option<(u64, u64, TargetState)> = None;
    for (seq, id, t) in targets {
        let above = match top {
            Some((s, _, _)) => seq > s,
            None => true,
        };
        if t.addr == addr && above {
            top = Some((seq, id, *t));
        }
    }
    top.map(|(_, id, t)| (id, t))
}

/// The targets of the applied packs when an action began: only actions change them, one at a
/// time ([`ACTIONS`]), so the copy stays true while that action runs.
pub(crate) struct Applied(KVec<(u64, u64, TargetState)>);

impl Applied {
    /// Applied targets as a test lays them out: (order applied, pack id, target).
    #[cfg(CONFIG_SPLICE_KUNIT_TEST)]
    pub(crate) fn of(targets: &[(u64, u64, TargetState)]) -> Result<Self> {
        let mut v = KVec::new();
        v.extend_from_slice(targets, GFP_KERNEL)?;
        Ok(Self(v))
    }

    /// The applied pack (id) and target that redirect `addr`, if any.
    pub(crate) fn owner_of(&self, addr: usize) -> Option<(u64, TargetState)> {
        top_of(self.0.iter().map(|(s, id, t)| (*s, *id, t)), addr)
    }

    /// The target of the applied pack applied first over `addr`, the bottom of the stack of
    /// packs there: the one whose saved bytes are the kernel's own code.
    pub(crate) fn bottom_of(&self, addr: usize) -> Option<TargetState> {
        self.0
            .iter()
            .filter(|(_, _, t)| t.addr == addr)
            .min_by_key(|(s, _, _)| *s)
            .map(|(_, _, t)| *t)
    }

    /// Puts back, in `code` (a copy of live code read at `addr`), the bytes the applied packs
    /// wrote over: each jump and hop as the first pack over the function saved them, the
    /// kernel's own.
    pub(crate) fn own_code(&self, addr: usize, code: &mut [u8]) {
        let mut put = |at: usize, bytes: &[u8]| {
            for (i, &b) in bytes.iter().enumerate() {
                if let Some(c) = (at + i).checked_sub(addr).and_then(|o| code.get_mut(o)) {
                    *c = b;
                }
            }
        };
        for (_, _, t) in self.0.iter() {
            if let Some(bottom) = self.bottom_of(t.addr) {
                put(bottom.site, &bottom.saved);
                if let Some(h) = bottom.hop {
                    put(h.at, &h.saved);
                }
            }
        }
    }

    /// Every applied target: (order applied, pack id, target).
    pub(crate) fn all(&self) -> &[(u64, u64, TargetState)] {
        &self.0
    }

    /// The replacement an applied pack runs instead of the function at `addr`: the one
    /// applied last.
    pub(crate) fn redirect(&self, addr: usize) -> Option<usize> {
        self.owner_of(addr).map(|(_, t)| t.repl)
    }
}

/// What run-pre matching reads of a pack ([`Registry::matching`]).
///
/// # Invariants
///
/// `_pin` holds the pack's module, in which `held` points.
pub(crate) struct Matching {
    pub(crate) held: Held,
    pub(crate) applied: Applied,
    /// The applied packs (ids), this one aside: those a replace pack supersedes.
    pub(crate) applied_packs: KVec<u64>,
    _pin: ModuleRef,
}

impl Matching {
    /// The pack, for as long as `self` is borrowed.
    pub(crate) fn pack(&self) -> Pack<'_> {
        self.held.pack()
    }

    /// The pack's name.
    pub(crate) fn name(&self) -> &CStr {
        self.held.pack().name()
    }
}

kernel::sync::global_lock! {
    // SAFETY: Initialized in the module initializer, before the first use.
    pub(crate) unsafe(uninit) static REGISTRY: Mutex<Registry> = Registry::new();
}

kernel::sync::global_lock! {
    // SAFETY: Initialized in the module initializer, before the first use.
    pub(crate) unsafe(uninit) static ACTIONS: Mutex<()> = ();
}

/// Initializes the registry and gives it the root directory.
pub(crate) fn init(root: Dir<Root>) -> Result {
    // The core is built in: its root directory lives as long as the kernel, so a pack's
    // directory can be made under it without the registry lock held (see `register`).
    let root: &'static Dir<Root> = KBox::leak(KBox::new(root, GFP_KERNEL)?);
    // SAFETY: Called once, from the module initializer, before anything else uses the locks.
    unsafe { REGISTRY.init() };
    // SAFETY: As above.
    unsafe { ACTIONS.init() };
    REGISTRY.lock().root = Some(root);
    Ok(())
}

/// Locks the registry.
pub(crate) fn lock() -> kernel::sync::GlobalGuard<REGISTRY> {
    REGISTRY.lock()
}

/// What [`register`] takes from a pack descriptor that passed [`checked`].
struct Checked {
    held: Held,
    hooks: Hooks,
    /// A copy of the pack's name: the logs outlive the borrow of `held`, which the entry takes.
    name: CString,
    build_id_differs: bool,
}

/// The checks of a pack's descriptor before anything of it is registered: its ABI, its blob,
/// its hooks' kinds, its name, that its replacements and hooks are code of the registering
/// module, and that it does something. Each refusal is logged with its reason.
fn checked(desc: &bindings::splice_pack_desc) -> Result<Checked> {
    if desc.owner.is_null() {
        pr_err!("pack refused (bad_pack): its descriptor names no module\n");
        return Err(EINVAL);
    }
    // SAFETY: `owner` is the registering module, live while its init calls this.
    let module = unsafe { kernel::module_ref::name_of(desc.owner) };
    if desc.abi != bindings::SPLICE_PACK_ABI {
        pr_err!(
            "pack of module {module:?} refused (bad_pack): made for core ABI {}, this kernel's is {}; make it again with splice-create for this kernel\n",
            desc.abi,
            bindings::SPLICE_PACK_ABI
        );
        return Err(EINVAL);
    }
    if desc.blob.is_null() {
        pr_err!("pack of module {module:?} refused (bad_pack): no pack blob\n");
        return Err(EINVAL);
    }
    // SAFETY: The module passed its blob and its replacements; they stay until it unregisters,
    // which removes the entry, the holder of `held`, after every action of the pack ended
    // (the holders of its copies).
    let held = unsafe {
        Held::new(
            desc.blob,
            desc.blob_len,
            desc.replacements.cast(),
            desc.nr_replacements,
        )
    }
    .map_err(|e| {
        pr_err!("pack of module {module:?} refused (bad_pack): {e}\n");
        EINVAL
    })?;
    let pack = held.pack();
    // SAFETY: As for the blob.
    let hooks = unsafe { Hooks::new(desc.hooks, desc.nr_hooks) };
    if hooks.has_unknown_kind() {
        pr_err!(
            "pack {:?} refused (bad_pack): unknown hook kind\n",
            pack.name()
        );
        return Err(EINVAL);
    }
    let name = CString::try_from(pack.name())?;
    if name.is_empty()
        || name
            .to_bytes()
            .iter()
            .any(|&c| !(c.is_ascii_alphanumeric() || c == b'_' || c == b'-'))
    {
        pr_err!("pack refused (bad_pack): bad name {name:?}\n");
        return Err(EINVAL);
    }
    // The jumps go to the replacements and the core calls the hooks: each must be code of the
    // registering module, never anywhere else in the kernel.
    let owner = desc.owner as usize;
    let in_pack = |a: usize| kernel::module_ref::text_owner(a) == Some(owner);
    if let Some(i) = held
        .replacements()
        .iter()
        .position(|&r| !in_pack(r as usize))
    {
        pr_err!("pack {name:?} refused (bad_pack): replacement {i} is not code of its module\n");
        return Err(EINVAL);
    }
    if let Some(i) = hooks.first_outside(in_pack) {
        pr_err!("pack {name:?} refused (bad_pack): hook {i} is not a function of its module\n");
        return Err(EINVAL);
    }
    // A fix of data alone has hooks and nothing to replace; a pack with neither does nothing.
    if pack.target_count() == 0 && hooks.is_empty() {
        pr_err!("pack {name:?} refused (bad_pack): no targets and no hooks\n");
        return Err(EINVAL);
    }
    if let Some(f) = pack.twice_targeted()? {
        let f = pack.function(f).map_or(c"?", |f| f.name);
        pr_err!("pack {name:?} refused (bad_pack): two targets replace function {f:?}\n");
        return Err(EINVAL);
    }
    let build_id_differs = crate::buildid::differs(pack.build_id());
    Ok(Checked {
        held,
        hooks,
        name,
        build_id_differs,
    })
}

/// Whether a pack named `name` is registered.
fn loaded(reg: &Registry, name: &CStr) -> bool {
    reg.packs
        .iter()
        .any(|e| e.name().to_bytes() == name.to_bytes())
}

/// Registers the pack of `desc` once [`checked`]: an id and a directory of its own, then its
/// entry, unless another pack has its name.
fn register(desc: &bindings::splice_pack_desc) -> Result {
    let Checked {
        held,
        hooks,
        name,
        build_id_differs,
    } = checked(desc)?;
    let (id, root) = {
        let mut reg = REGISTRY.lock();
        if loaded(&reg, &name) {
            pr_err!("a pack named {name:?} is already loaded\n");
            return Err(EEXIST);
        }
        let id = reg.next_id;
        reg.next_id += 1;
        (id, reg.root.ok_or(ENODEV)?)
    };
    // Made without the registry lock: if making its files fails, removing the directory
    // waits for its readers, and they take the lock. Until the entry is there, a reader of
    // a file of it finds no pack of that id.
    let dir = Dir::new_child(root, &name, PackFiles { id })?;
    let mut reg = REGISTRY.lock();
    // Another pack of that name may have been registered meanwhile (kernfs refuses a second
    // directory of one name, but only while the first is there).
    if loaded(&reg, &name) {
        drop(reg);
        pr_err!("a pack named {name:?} is already loaded\n");
        return Err(EEXIST);
    }
    if let Err(e) = reg.packs.reserve(1, GFP_KERNEL) {
        drop(reg);
        return Err(e.into());
    }
    let entry = Entry {
        id,
        held,
        owner: desc.owner,
        hooks,
        life: Life::new(),
        targets: KVec::new(),
        conflicts: KVec::new(),
        busy: 0,
        waiting: KVec::new(),
        pins: KVec::new(),
        timings: Timings::default(),
        applied_seq: 0,
        build_id_differs,
        desc: core::ptr::from_ref(desc) as usize,
        acting: false,
        dir: Some(dir),
    };
    if let Err(rejected) = reg.packs.push_within_capacity(entry) {
        // Cannot happen: reserved above. The directory goes without the lock held.
        drop(reg);
        drop(rejected);
        return Err(ENOMEM);
    }
    drop(reg);
    if build_id_differs {
        pr_warn!("pack {name:?} was made from a vmlinux with another build-id; run-pre matching decides whether it fits\n");
    }
    pr_info!("pack {name:?} loaded\n");
    Ok(())
}

/// Registers a pack. Called by the init function of a pack module.
///
/// # Safety
///
/// `desc` points to a descriptor in the calling module, valid until the module calls
/// [`splice_unregister_pack`] with it.
#[no_mangle]
pub(crate) unsafe extern "C" fn splice_register_pack(
    desc: *const bindings::splice_pack_desc,
) -> i32 {
    if desc.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: By the safety requirements.
    match register(unsafe { &*desc }) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Unregisters a pack. Called by the exit function of a pack module. An applied pack holds a
/// reference on its module, which only a forced unload (`rmmod -f`,
/// `CONFIG_MODULE_FORCE_UNLOAD`) ignores: the module's code, which the kernel's functions
/// jump to, is then about to be freed, so the pack is reversed first.
///
/// # Safety
///
/// `desc` is a descriptor passed to a successful [`splice_register_pack`].
#[no_mangle]
pub(crate) unsafe extern "C" fn splice_unregister_pack(desc: *const bindings::splice_pack_desc) {
    // An action of this pack (a forced unload ignores the references an action takes) runs
    // with the registry let go, on what it copied of the pack: it ends first. An applied pack
    // forced out is reversed, an action too. Whether either is so is read under the registry
    // lock, under which an action marks its pack before it starts.
    let acting_or_applied = REGISTRY
        .lock()
        .packs
        .iter()
        .any(|e| e.desc == desc as usize && (e.acting || e.life.stage() == Stage::Applied));
    let one = acting_or_applied.then(|| ACTIONS.lock());
    reverse_forced_out(desc as usize);
    let mut reg = REGISTRY.lock();
    let Some(pos) = reg.packs.iter().position(|e| e.desc == desc as usize) else {
        return;
    };
    let mut entry = reg.packs.remove(pos).ok();
    drop(reg);
    // Let go before the directory goes: removing it waits for the writers of its files, and a
    // writer of its stage may wait for this lock (it then finds the pack gone: ENODEV).
    drop(one);
    if let Some(e) = entry.as_mut() {
        if e.life.stage() == Stage::Applied {
            // `reverse_forced_out` could not reverse it.
            pr_crit!(
                "pack {:?}: unregistered while applied: the kernel runs code of a module being freed; reboot\n",
                e.name()
            );
        }
        crate::shadow::free_owned_by(e.owner);
        pr_info!("pack {:?} unloaded\n", e.name());
        // Removing the directory waits for its readers, which may wait for the lock.
        drop(e.dir.take());
    }
}

/// Reverses the pack registered with descriptor `desc` if it is applied: its module is being
/// forced out (`rmmod -f`), and its code is about to be freed. The caller holds [`ACTIONS`].
fn reverse_forced_out(desc: usize) {
    let applied = {
        let reg = REGISTRY.lock();
        reg.packs
            .iter()
            .find(|e| e.desc == desc && e.life.stage() == Stage::Applied)
            .map(|e| (e.id, CString::try_from(e.name())))
    };
    let Some((id, name)) = applied else {
        return;
    };
    let name = name.as_deref().unwrap_or(c"?");
    match crate::patch::perform(REGISTRY.lock(), id, crate::stage::Action::Reverse, None) {
        Ok(()) => pr_warn!("pack {name:?}: its module was forced out while applied; reversed\n"),
        Err(e) => pr_crit!(
            "pack {name:?}: its module was forced out while applied and cannot be reversed ({e:?}, abort cause in the log above)\n"
        ),
    }
}
