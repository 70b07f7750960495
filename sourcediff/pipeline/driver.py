"""The pipeline, declared as data: source -> adjoint (or tangent) function.

Each mode is a table of named stages (:data:`FRONT`, then :data:`ADJOINT` or
:data:`JVP`), each a function of one compilation unit (:class:`Unit`), run in order
by :func:`run`:

    parse -> fence -> normalise -> flatten
      -> activity -> reverse sweep -> save/restore -> split calls -> assemble
      -> optimise (optimize.py's own passes) -> split form -> compile (link.py)

Each pass is one module with one entry point; this file only wires them. A new pass
is one line in a table.
"""

from __future__ import annotations

import dataclasses
import functools

import gast

from ..ad import activity, calls, invariance, saves, split
from ..values import spec
from ..front import aliases, displays, fence, flatten, normalize, parse, resolve, views
from ..ir import freevars, nodes as N
from . import link
from ..opt import inplace, optimize, shapes
from .. import runtime
from ..ad.calls import containers, is_user_call, plain_call, sequences
from ..front.closures import closure_reads
from ..ad.forward import Tangents
from ..ir.names import NAMES, RUNTIME, NameGen
from ..ad.reverse import Sweep
from ..ir.signature import param_names


@dataclasses.dataclass(frozen=True)
class Options:
    """What to build (see :func:`build_adjoint`)."""
    with_seed: bool = False     # the adjoint takes the output's cotangent
    has_aux: bool = False       # the function returns (loss, aux)
    need_value: bool = True     # the value is returned too
    live: bool = True           # data globals and closure cells read at each call
    split_calls: object = False  # calls into user code run once (True, or "pure")
    split_form: object = False   # f(*args) -> (value, pullback), or a residual form


@dataclasses.dataclass
class Unit:
    """One function on its way through a pipeline. The caller gives the first five
    fields; each stage reads fields set before it and sets its own (its docstring
    says which), so a stage is a function of the unit and nothing else."""
    fn: object
    wrt: tuple = ()                 # the indices of the arguments differentiated
    specialize: tuple | None = None  # the arguments' shapes (None: generic code)
    kinds: tuple | None = None      # the arguments' dtype kinds
    options: Options = Options()
    parsed: object = None           # parse: the parsed function (tree, file, lines)
    ns: dict | None = None          # parse: name -> value for the names it reads
    params: list | None = None      # parse: flat parameter names (*args a tuple)
    wrt_names: list | None = None   # parse: the parameters differentiated
    aux: object = None              # fence: the aux atom (has_aux)
    body: list | None = None        # normalise, flatten: the statements transformed
    out: object = None              # flatten: the returned atom
    names: NameGen | None = None    # parse: the one name generator (roles recorded)
    active: set | None = None       # activity: names carrying a derivative to the output
    cut: set | None = None          # activity: names the output does not depend on
    env: dict | None = None         # activity: the shape of each name of body (shapes.infer)
    varied: set | None = None       # activity: names depending on wrt
    facts: dict | None = None       # reverse facts: what the sweep knows of each name
    multidef: set | None = None     # reverse facts: names assigned more than once
    seed_name: str | None = None    # sweep: the parameter taking the output's cotangent
    forward: list | None = None     # sweep: the forward statements; save/restore
    rev: list | None = None         # sweep: the reverse statements
    inits: list | None = None       # sweep: adjoints starting from zero
    results: list | None = None     # sweep: one gradient (or tangent) per output
    extra_globals: dict | None = None  # sweep: values the generated code reads by name
    fname: str | None = None        # assemble: the generated function's name
    fdef: object = None             # assemble, optimise: the generated FunctionDef
    residual: tuple | None = None   # split form: split.to_residual_form's arguments
    result: link.Adjoint | None = None   # compile: the compiled function and its source


def run(pipeline, unit):
    """Run each stage of ``pipeline`` (a tuple of (name, stage)) on ``unit``."""
    for _name, stage in pipeline:
        stage(unit)
    return unit


# -- the passes both modes share ------------------------------------------------------
def parse_stage(u):
    """parsed, ns, params, wrt_names: the source read, its names resolved."""
    u.parsed = parse.parse_function(u.fn)
    u.ns = resolve.namespace(u.fn, u.parsed.tree)
    _, printed = resolve.rename_reserved(u.parsed.tree, u.ns, runtime.HELPERS)
    resolve.rename_stack(u.parsed.tree, u.ns)
    u.ns[optimize.USER_NAMES] = frozenset(N.names_in(u.parsed.tree))  # (kept: _h, y_bar)
    u.params = param_names(u.parsed.tree.args)
    known = {p: spec.item_of(u.specialize, i) for i, p in enumerate(u.params)}
    displays.expand_starred_calls(  # f(*args): args a tuple display, or of known length
        u.parsed.tree, {p: n for p, n in known.items() if n is not None})
    u.wrt_names = [u.params[i] for i in u.wrt]
    u.names = NameGen(set(u.params) | set(u.ns) | set(N.names_in(u.parsed.tree))
                      | set(runtime.HELPERS) | set(printed.values()) | {"np", "math", RUNTIME},
                      helpers=runtime.HELPERS, users=printed)
    u.names.reserve("_stack", "stack")
    u.ns[NAMES] = u.names  # (for the passes that see the namespace only: shapes)


def fence_stage(u):
    """Refuse what is not supported, before any work; aux: ``return loss, aux`` split."""
    fence.check(u.parsed)
    u.ns[activity.CLOSURE_READS] = closure_reads(u.parsed)
    if u.options.has_aux:
        u.aux = flatten.split_aux(u.parsed, u.names)


def normalize_stage(u):
    """body: one operation per statement; arguments written in place copied first."""
    body = normalize.normalize(u.parsed, u.ns, u.names)
    body = fence.own_arguments(u.parsed, body, u.params, u.ns)
    fence.check_inplace(u.parsed, body, u.params, u.ns)
    views.check_stale(u.parsed, body, u.ns)
    u.body = body


def flatten_stage(u):
    """body, out: no return, break or continue inside control flow; the returned atom."""
    u.body, u.out = flatten.flatten(u.parsed, u.body, u.names)


FRONT = (
    ("parse", parse_stage),
    ("fence", fence_stage),
    ("normalise", normalize_stage),
    ("flatten", flatten_stage),
)

# -- reverse mode ---------------------------------------------------------------------
def refuse_outputs(u):
    """``grad`` of a function returning a container: refused before any work."""
    if not u.options.with_seed:
        fence.refuse_container_output(u.parsed, u.body, u.out)


def activity_stage(u):
    """cut, active: less what the output does not depend on at these shapes."""
    u.cut = set()
    outs = [u.out.id] if isinstance(u.out, gast.Name) else []
    if u.specialize is not None and outs:
        env = shapes.infer(u.body, u.ns, dict(zip(u.params, u.specialize)))
        u.env = dict(env)
        u.cut = invariance.invariant_names(u.body, u.ns, env, u.out.id) - set(u.params)
    u.active = activity.analyse(u.body, u.ns, u.wrt_names, outs, u.parsed, cut=u.cut)
    refuse_aliases(u)


def refuse_aliases(u):
    """``v += e`` on a view or second name of an array read later (not of a number)."""
    env = functools.cache(lambda: u.env if u.env is not None or u.specialize is None else
                          shapes.infer(u.body, u.ns, dict(zip(u.params, u.specialize))))
    aliases.check_augmented(u.parsed, u.ns, lambda y: (env() or {}).get(y) == ())


def take_names(u):
    """names: every name now in use taken (builtins the front introduced, ...)."""
    u.names.take(set(u.ns) | set(N.names_in(gast.Module(body=u.body, type_ignores=[]))))


def reverse_facts(u):
    """multidef, facts: what the reverse sweep knows of each name, given to it whole."""
    body, params, spec = u.body, u.params, u.specialize
    u.multidef = saves.multidef(body, params)
    saves.mark_first_defs(body, params)
    scatter = {n.value.id for n in N.walk(gast.Module(body=body, type_ignores=[]))
               if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Load)
               and isinstance(n.value, gast.Name) and n.value.id in u.active}
    rebound = {v for v in calls.rebound(body, params)  # (of a shape that may change)
               if u.env is None or u.env.get(v) is None}
    u.facts = dict(
        containers=containers(body, u.ns, params, spec),
        sequences=sequences(u.parsed, body, u.ns, params, spec),
        varied=activity.varied(body, u.ns, u.wrt_names, u.cut),
        loop_locals=saves.loop_locals(body, u.names),
        scatter=scatter,
        lazy={v for v in scatter if v in u.multidef and v in rebound  # (zeros_for(v)
              or v not in params and not saves.defined_up_front(body, v)},  # sees a later v)
        real_kind=real_kind(u))


def real_kind(u):
    """The names surely real where the arguments' dtype kinds are known: a complex_only
    rule's template is left out for them (np.sign of a real x has no adjoint line)."""
    args = u.parsed.tree.args
    if u.kinds is None or len(u.kinds) != len(u.params) or args.vararg or args.kwarg:
        return frozenset()
    env = inplace.infer(gast.Module(body=u.body, type_ignores=[]), u.ns, u.kinds,
                        u.params).env
    return frozenset(n for n, k in env.items() if k is not None)


def mark_split_calls(u):
    """Calls into user code the forward pass runs once get their pullback lists."""
    if u.options.split_calls and split.mark(
            u.body, u.ns, u.active, u.names,
            is_user_call if u.options.split_calls is True else functools.partial(
                plain_call, local=split.local_functions(u.body), active=u.active)):
        u.env = None  # (the calls marked are rewritten: shapes inferred again if asked)


def sweep_stage(u):
    """seed_name, rev, results, inits, extra_globals: the reverse sweep, from the
    output's adjoint (1.0, or the seed parameter) back to each wrt's."""
    sweep = Sweep(u.parsed, u.ns, u.active, u.names, u.multidef, **u.facts)
    out = u.out
    if u.options.with_seed:  # a parameter even when the output does not depend on wrt
        user_out = isinstance(out, gast.Name) and u.names.role(out.id) is None
        u.seed_name = u.names.fresh(f"{u.names.users.get(out.id, out.id)}_bar" if user_out
                                    else "out_bar", "seed")
    rev = []
    if isinstance(out, gast.Name) and out.id in u.active:
        rev += sweep.seed(out.id, N.name(u.seed_name) if u.seed_name else N.const(1.0))
    u.rev = rev + sweep.block(u.body)
    u.results = [sweep.gradient(p) for p in u.wrt_names]
    u.inits = sweep.inits()
    u.extra_globals = sweep.extra_globals


def saves_stage(u):
    """forward, rev: values the reverse pass reads that the forward pass overwrites are
    saved and restored, and views it reads of arrays updated in place are copies."""
    u.forward, u.rev = saves.insert(u.body, u.rev, u.params, u.names)
    views.copy_views(u.parsed, u.forward, u.ns, u.rev)  # (the views the sweep reads)


def split_calls_stage(u):
    """forward: the calls marked run by ``split_call`` (or in residual form)."""
    if u.options.split_calls is True:
        u.forward = split.rewrite(u.forward)
    elif u.options.split_calls:  # "pure": code differentiated again (split.to_residual_form)
        u.forward = split.rewrite(u.forward, u.rev, u.names)


def assemble_adjoint(u):
    """fname, fdef: the adjoint function, forward pass then reverse pass."""
    out, opts = u.out, u.options
    value = N.clone(out)
    if isinstance(out, gast.Name) and out.id in u.multidef:
        # the reverse pass restores overwritten values: keep the output's now
        value = N.name(u.names.fresh("_value", "save"))
        u.forward.append(N.assign(value.id, N.clone(out)))
    if not opts.need_value and u.specialize is not None and output_shape_of_body(u) == ():
        value = N.const(None)  # a scalar for sure: grad needs no value to check
    base = u.parsed.tree.name
    u.fname = u.names.global_name(f"{base}_adjoint" if opts.with_seed else f"{base}_grad")
    doc = (f"Adjoint of {u.parsed.name} with respect to {', '.join(u.wrt_names)} "
           f"(generated by sourcediff).")
    stmts = [N.expr_stmt(N.const(doc)), N.comment("forward pass"), *u.forward]
    stmts += [N.reverse_mark(), *u.inits, *u.rev]
    stmts.append(N.return_(N.tuple_([value, N.tuple_(u.results)] + ([u.aux] if u.aux else []))))
    u.fdef = N.function_def(u.fname, u.params + ([u.seed_name] if u.seed_name else []), stmts)
    N.set_anno(u.fdef, "names", u.names)  # (later passes ask it a name's role)


def output_shape_of_body(u):
    """The shape of the returned atom at the shapes ``u.specialize``: of the shapes the
    activity stage inferred (the statements since added to the body push and pop only),
    unless calls into user code were split since."""
    if u.env is not None:
        return shapes.Shapes(u.ns, dict(u.env)).of(u.out)
    return shapes.output_shape(u.body, u.ns, dict(zip(u.params, u.specialize)), u.out)


def optimize_adjoint(u):
    """fdef: optimised (:func:`optimize.optimize`, its own pipeline of passes)."""
    spec_params, spec = u.params, u.specialize
    if u.options.split_form and spec is not None:  # the pullback's seed is shaped like the value
        seed_shape = output_shape_of_body(u)
        if seed_shape is not None:
            spec_params, spec = u.params + [u.seed_name], tuple(spec) + (seed_shape,)
    u.fdef = optimize.optimize(u.fdef, u.ns, spec, spec_params, keep={u.seed_name} - {None},
                               kinds=u.kinds, outside=freevars.data_names(u.ns))


def split_form_stage(u):
    """fname, fdef, residual: ``f(*args) -> (value, pullback)``, or the residual form."""
    form, base, names = u.options.split_form, u.parsed.tree.name, u.names
    if form in ("residual", "residual_bound"):  # (bound: no cotangent for self)
        u.fdef.name = u.fname = names.global_name(f"{base}_forward")
        u.residual = (u.seed_name, u.params, u.wrt_names, names.global_name(f"{base}_reverse"),
                      names.fresh("residuals", "pullback"), activity.varied(u.fdef.body, u.ns, u.wrt_names),
                      int(form == "residual_bound"))
    elif form:
        u.fdef.name = u.fname = names.global_name(f"{base}_split")
        u.fdef = split.to_split_form(u.fdef, u.seed_name, names.fresh(f"{base}_pullback", "pullback"))
        if u.fdef is None:
            raise split.NotSplittable(u.parsed.name)


def compile_stage(u):
    """result: the function printed and compiled (:func:`codegen.compile_function`)."""
    u.result = link.link(u.fdef, u.parsed, u.ns, u.extra_globals, u.wrt_names, u.fname,
                         u.names, u.options.live, u.residual)


ADJOINT = FRONT + (
    ("refuse a container output", refuse_outputs),
    ("activity", activity_stage),
    ("names", take_names),
    ("reverse facts", reverse_facts),
    ("mark split calls", mark_split_calls),
    ("reverse sweep", sweep_stage),
    ("save/restore", saves_stage),
    ("split calls", split_calls_stage),
    ("assemble", assemble_adjoint),
    ("optimise", optimize_adjoint),
    ("distinct results", lambda u: split.distinct_results(u.fdef)),
    ("split form", split_form_stage),
    ("compile", compile_stage),
)


# -- forward mode ---------------------------------------------------------------------
def varied_stage(u):
    """varied: the names depending on wrt; refused constructs among them."""
    u.varied = activity.varied(u.body, u.ns, u.wrt_names)
    activity.check_refusals(u.parsed, u.body, u.ns, u.wrt_names,
                            [u.out.id] if isinstance(u.out, gast.Name) else [])
    refuse_aliases(u)


def tangent_stage(u):
    """forward, results, extra_globals: each statement followed by its tangent's."""
    tangents = Tangents(u.parsed, u.ns, u.varied, u.names, sequences=sequences(
        u.parsed, u.body, u.ns, u.params, u.specialize))
    new_body = tangents.block(u.body)
    # a parameter held fixed that a loop makes varied (``x = np.tanh(x * w)``): its
    # tangent is read before the loop first writes it, so it starts at zero
    u.forward = [N.assign(u.names.tangent(p), N.call("zeros_tangent", [N.name(p)]))
                 for p in u.params if p in u.varied and p not in u.wrt_names] + new_body
    if isinstance(u.out, gast.Name) and u.out.id in u.varied:
        u.results = [N.name(u.names.tangent(u.out.id))]
    else:
        u.results = [N.call("zeros_tangent", [N.clone(u.out)])]
    u.extra_globals = tangents.extra_globals


def assemble_jvp(u):
    """fname, fdef: ``f_jvp(*args, *tangents) -> (out, out_dot)``."""
    u.fname = u.names.global_name(f"{u.parsed.tree.name}_jvp")
    doc = (f"Tangent (forward mode) of {u.parsed.name} along {', '.join(u.wrt_names)} "
           f"(generated by sourcediff).")
    stmts = [N.expr_stmt(N.const(doc)), *u.forward,
             N.return_(N.tuple_([N.clone(u.out), *u.results]))]
    arg_names = u.params + [u.names.tangent(p) for p in u.wrt_names]
    u.fdef = N.function_def(u.fname, arg_names, stmts)
    N.set_anno(u.fdef, "names", u.names)


def optimize_jvp(u):
    """fdef: optimised (:func:`optimize.optimize`)."""
    u.fdef = optimize.optimize(u.fdef, u.ns, u.specialize, u.params, keep=set(),
                               outside=freevars.data_names(u.ns))


JVP = FRONT + (
    ("activity", varied_stage),
    ("names", take_names),
    ("tangent sweep", tangent_stage),
    ("assemble", assemble_jvp),
    ("optimise", optimize_jvp),
    ("compile", compile_stage),
)


def build_adjoint(fn, wrt, with_seed=False, has_aux=False, specialize=None, need_value=True,
                  kinds=None, live=True, split_calls=False, split_form=False):
    """Generate the adjoint of ``fn`` with respect to argument indices ``wrt``
    (the :data:`ADJOINT` pipeline).

    ``specialize`` (argument shapes) and ``kinds`` (argument dtypes) let it assume those.
    ``split_calls``: calls into user code run once (:mod:`split`); ``split_form``: the
    result is ``f(*args) -> (value, pullback)`` (needs ``with_seed``).
    ``live``: read data globals and closure variables at each call (see :mod:`freevars`);
    else they are the generated function's own globals (for an exported module)."""
    options = Options(with_seed, has_aux, need_value, live, split_calls, split_form)
    return run(ADJOINT, Unit(fn, tuple(wrt), specialize, kinds, options)).result


def build_jvp(fn, wrt, specialize=None, live=True):
    """Generate ``f_jvp(*args, *tangents) -> (out, out_dot)`` for arguments ``wrt``
    (the :data:`JVP` pipeline)."""
    return run(JVP, Unit(fn, tuple(wrt), specialize, options=Options(live=live))).result


def output_shape(fn, spec):
    """The shape ``fn`` returns for arguments of shapes ``spec`` (None where unknown)."""
    u = run(FRONT, Unit(fn))
    return shapes.output_shape(u.body, u.ns, dict(zip(u.params, spec)), u.out)
