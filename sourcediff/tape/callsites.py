"""Whether a global name is only ever *called* in a code object (``float(x)``).

The tape renames ``float`` to its recording version in code that only calls
it (:func:`.shim._with_traced_float`); a name also used as a value
(``isinstance(v, float)``, ``dtype=float``, ``float.fromhex``) keeps the real
``float``. Python 3.11+ marks a global loaded for a call in the instruction
itself (``LOAD_GLOBAL`` with the low bit of its argument set: "push NULL").
Python 3.10 does not, so there the stack is followed from the load until the
value is consumed: the name is called only if the instruction consuming it is
a ``CALL_FUNCTION*`` taking it as the callee. Any instruction this module does
not know the stack use of makes the answer "no": the real ``float`` is kept,
which at worst raises the usual :class:`.TracerConversionError`, never a wrong
gradient.
"""

from __future__ import annotations

import dis
import sys


def only_called(code, name):
    """Whether every use of global ``name`` in ``code`` (not nested code) is a call of it."""
    instructions = list(dis.get_instructions(code))
    for k, ins in enumerate(instructions):
        if ins.opcode in dis.hasname and ins.argval == name:
            if ins.opname != "LOAD_GLOBAL":
                return False
            if sys.version_info >= (3, 11):
                if not ins.arg & 1:
                    return False
            elif not _is_callee_310(instructions, k):
                return False
    return True


# --- Python 3.10 ---------------------------------------------------------------------------

def _pops_310(ins):
    """How many stack items ``ins`` reads (pops, or peeks at), or None if not known."""
    op, arg = ins.opname, ins.arg
    if op in _FIXED_POPS:
        return _FIXED_POPS[op]
    if op.startswith(("BINARY_", "INPLACE_")):
        return 2
    if op.startswith("UNARY_"):
        return 1
    if op in ("BUILD_TUPLE", "BUILD_LIST", "BUILD_SET", "BUILD_STRING", "BUILD_SLICE"):
        return arg
    if op == "BUILD_MAP":
        return 2 * arg
    if op == "BUILD_CONST_KEY_MAP":
        return arg + 1
    if op in ("LIST_EXTEND", "LIST_APPEND", "SET_UPDATE", "SET_ADD", "DICT_UPDATE",
              "DICT_MERGE"):
        return arg + 1                 # pops one item, changes the one ``arg`` deeper
    if op == "MAP_ADD":
        return arg + 2
    if op == "FORMAT_VALUE":
        return 2 if arg & 0x04 else 1
    if op == "MAKE_FUNCTION":
        return 2 + bin(arg & 0x0F).count("1")
    if op == "CALL_METHOD":
        return arg + 2
    if op == "ROT_N":
        return arg
    return None


_FIXED_POPS = {
    "NOP": 0, "EXTENDED_ARG": 0,
    "LOAD_CONST": 0, "LOAD_FAST": 0, "LOAD_GLOBAL": 0, "LOAD_NAME": 0, "LOAD_DEREF": 0,
    "LOAD_CLOSURE": 0, "LOAD_CLASSDEREF": 0, "LOAD_ATTR": 1, "LOAD_METHOD": 1,
    "STORE_FAST": 1, "STORE_NAME": 1, "STORE_GLOBAL": 1, "STORE_DEREF": 1,
    "STORE_ATTR": 2, "STORE_SUBSCR": 3, "POP_TOP": 1, "DUP_TOP": 1, "DUP_TOP_TWO": 2,
    "ROT_TWO": 2, "ROT_THREE": 3, "ROT_FOUR": 4, "COMPARE_OP": 2, "IS_OP": 2,
    "CONTAINS_OP": 2, "GET_ITER": 1, "LIST_TO_TUPLE": 1,
    "POP_JUMP_IF_FALSE": 1, "POP_JUMP_IF_TRUE": 1,
    "JUMP_IF_FALSE_OR_POP": 1, "JUMP_IF_TRUE_OR_POP": 1,
}

_CALLS = {"CALL_FUNCTION": 1, "CALL_FUNCTION_KW": 2}    # pops: arg + this


def _is_callee_310(instructions, k):
    """Whether the value loaded by ``instructions[k]`` is consumed as a call's callee.

    Follows the fall-through of conditional jumps and the target of
    unconditional ones (the branches of ``a if c else b`` meet again before
    the call), counting the items pushed above the value.
    """
    at = {ins.offset: i for i, ins in enumerate(instructions)}
    above = 0
    i = k + 1
    for _ in range(len(instructions)):              # a bound: a loop is not followed forever
        if i >= len(instructions):
            return False
        ins = instructions[i]
        if ins.opname in _CALLS:
            pops = ins.arg + _CALLS[ins.opname]
        elif ins.opname == "CALL_FUNCTION_EX":
            pops = 2 + (ins.arg & 1)
        else:
            pops = None
        if pops is not None:
            if pops == above + 1:
                return True                      # the value is the callee
            if pops > above + 1:
                return False                     # the value is an argument
        else:
            if ins.opname in ("JUMP_FORWARD", "JUMP_ABSOLUTE"):
                i = at[ins.argval]
                continue
            pops = _pops_310(ins)
            if pops is None or pops > above:
                return False                     # unknown, or the value is used otherwise
        above += dis.stack_effect(ins.opcode, ins.arg, jump=False)
        i += 1
    return False
