"""Decoding and encoding WebAssembly instructions (function bodies and their immediates).

Spec: IC interface spec 0.66.0, The System API › WebAssembly module requirements (canister
code is WebAssembly); WebAssembly core spec 2.0 › Binary format › Instructions, plus the
proposals wasmtime enables and moc emits: memory64 (64-bit memarg offsets), multi-memory
(memory index in the memarg, flag bit 6 of the alignment), bulk memory, reference types,
multi-value block types, fixed-width SIMD (`0xFD` prefix), sign extension, saturating
truncation (`0xFC` prefix), tail calls, typed function references (`call_ref`,
`br_on_null`, ...). Relaxed SIMD opcodes are decoded too (the engine rejects them).
Exception handling, GC and threads (atomics) are not decoded: `InvalidWasm` names them.

Terms (impl): an instruction's *opcode key* is its first byte, or for prefixed
instructions `prefix << 12 | sub-opcode` (e.g. `memory.fill` = `0xFC00B`). Immediates are
kept as a tuple: indices and integer constants as `int`, value/block/heap types and float,
`v128` and shuffle constants as their raw encoded `bytes` (so NaN bits survive).

| immediate kind | tuple                                                   |
|----------------|---------------------------------------------------------|
| BLOCK          | (blocktype bytes,)                                      |
| INDEX          | (index,)  — label, function, local, global, table, ...  |
| INDEX2         | (a, b)    — call_indirect (type, table), memory.init, ...|
| BR_TABLE       | (*labels, default)                                      |
| MEMARG         | (align, offset, memory)                                 |
| MEMARG_LANE    | (align, offset, memory, lane)                           |
| I32 / I64      | (value,)  — signed                                      |
| F32/F64/V128/SHUFFLE | (raw bytes,)                                      |
| LANE           | (lane,)                                                 |
| SELECT_T       | (valtype bytes, ...)                                    |
| HEAP_TYPE      | (heaptype bytes,)                                       |
"""

from __future__ import annotations

from dataclasses import dataclass

from replica_core.execution.wasm_binary import InvalidWasm
from replica_core.execution.wasm_opcodes import (
    FC,
    FD,
    OPCODES,
    OPCODES_BY_NAME,
    UNSUPPORTED_OPCODES,
    Imm,
    Opcode,
)
from replica_core.leb128 import encode_signed, encode_unsigned

__all__ = [
    "FC",
    "FD",
    "OPCODES",
    "OPCODES_BY_NAME",
    "FunctionBody",
    "Imm",
    "Instruction",
    "Opcode",
    "decode_expression",
    "decode_function_body",
    "encode_instruction",
    "encode_instructions",
]


@dataclass(frozen=True, slots=True)
class Instruction:
    """A decoded instruction: its opcode, byte offset in the body, and immediates."""

    op: Opcode
    offset: int
    imm: tuple[int | bytes, ...] = ()

    @property
    def name(self) -> str:
        """The instruction's text-format name."""
        return self.op.name


@dataclass(frozen=True, slots=True)
class FunctionBody:
    """A decoded code-section entry: local declarations and instructions.

    `locals` holds (count, value type bytes) groups as declared; `code_offset` is where the
    expression starts in the body; `instructions` ends with the body's final `end`.
    """

    locals: tuple[tuple[int, bytes], ...]
    code_offset: int
    instructions: tuple[Instruction, ...]


_ONE_BYTE: list[Opcode | None] = [OPCODES.get(b) for b in range(256)]

_SIMPLE_VALTYPES = frozenset(
    b"\x7f\x7e\x7d\x7c\x7b\x70\x6f\x71\x72\x73\x74\x69\x6a\x6b\x6c\x6d\x6e"
)


# --- Decoding ----------------------------------------------------------------------------

_MAX_SHIFT = {bits: 7 * ((bits + 6) // 7) for bits in (32, 33, 64)}  # bits of the longest LEB


def _uleb(code: bytes, pos: int, bits: int) -> tuple[int, int]:
    """Read an unsigned LEB128 of at most `bits` bits (IndexError at end of input)."""
    byte = code[pos]
    if byte < 0x80:
        return byte, pos + 1
    result = byte & 0x7F
    shift = 7
    start = pos
    pos += 1
    while True:
        byte = code[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
        if shift >= _MAX_SHIFT[bits]:
            raise InvalidWasm(f"LEB128 longer than u{bits} allows at body offset {start}")
    if result >> bits:
        raise InvalidWasm(f"u{bits} LEB128 out of range at body offset {start}")
    return result, pos


def _sleb(code: bytes, pos: int, bits: int) -> tuple[int, int]:
    """Read a signed LEB128 of at most `bits` bits (IndexError at end of input)."""
    result = 0
    shift = 0
    start = pos
    while True:
        byte = code[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
        if shift >= _MAX_SHIFT[bits]:
            raise InvalidWasm(f"LEB128 longer than s{bits} allows at body offset {start}")
    if byte & 0x40:
        result -= 1 << shift
    if not -(1 << (bits - 1)) <= result < (1 << (bits - 1)):
        raise InvalidWasm(f"s{bits} LEB128 out of range at body offset {start}")
    return result, pos


def _value_type(code: bytes, pos: int) -> int:
    """Return the position after a value type (typed references carry a heap type)."""
    byte = code[pos]
    if byte in _SIMPLE_VALTYPES:
        return pos + 1
    if byte in (0x63, 0x64):  # (ref null ht) / (ref ht)
        return _sleb(code, pos + 1, 33)[1]
    raise InvalidWasm(f"unknown value type 0x{byte:02x} at body offset {pos}")


def _block_type(code: bytes, pos: int) -> int:
    """Return the position after a block type: empty, a value type, or a type index."""
    byte = code[pos]
    if byte == 0x40 or byte in _SIMPLE_VALTYPES or byte in (0x63, 0x64):
        return pos + 1 if byte == 0x40 else _value_type(code, pos)
    index, end = _sleb(code, pos, 33)
    if index < 0:
        raise InvalidWasm(f"bad block type at body offset {pos}")
    return end


def _memarg(code: bytes, pos: int) -> tuple[int, int, int, int]:
    """Read a memarg: (align, offset, memory index, end position)."""
    flags, pos = _uleb(code, pos, 32)
    memory = 0
    if flags & 0x40:  # multi-memory: an explicit memory index follows the alignment
        memory, pos = _uleb(code, pos, 32)
        flags &= ~0x40
    offset, pos = _uleb(code, pos, 64)  # u64 for memory64; u32 modules fit in it
    return flags, offset, memory, pos


def _decode_one(code: bytes, pos: int) -> tuple[Opcode, tuple[int | bytes, ...], int]:
    """Decode the instruction at `pos`: (opcode, immediates, end position)."""
    byte = code[pos]
    op = _ONE_BYTE[byte]
    pos += 1
    if op is None:
        if byte == 0xFC or byte == 0xFD:
            sub, pos = _uleb(code, pos, 32)
            op = OPCODES.get((FC if byte == 0xFC else FD) | sub)
            if op is None:
                raise InvalidWasm(f"unknown instruction 0x{byte:02x} {sub} at body offset {pos}")
        elif byte in UNSUPPORTED_OPCODES:
            raise InvalidWasm(
                f"unsupported instruction: {UNSUPPORTED_OPCODES[byte]} at offset {pos - 1}"
            )
        else:
            raise InvalidWasm(f"unknown opcode 0x{byte:02x} at body offset {pos - 1}")
    kind = op.imm
    if kind is Imm.NONE:
        return op, (), pos
    if kind is Imm.INDEX:
        index, pos = _uleb(code, pos, 32)
        return op, (index,), pos
    if kind is Imm.I32:
        value, pos = _sleb(code, pos, 32)
        return op, (value,), pos
    if kind is Imm.MEMARG:
        align, offset, memory, pos = _memarg(code, pos)
        return op, (align, offset, memory), pos
    if kind is Imm.BLOCK:
        end = _block_type(code, pos)
        return op, (code[pos:end],), end
    if kind is Imm.I64:
        value, pos = _sleb(code, pos, 64)
        return op, (value,), pos
    if kind is Imm.INDEX2:
        a, pos = _uleb(code, pos, 32)
        b, pos = _uleb(code, pos, 32)
        return op, (a, b), pos
    if kind is Imm.BR_TABLE:
        count, pos = _uleb(code, pos, 32)
        if count > len(code) - pos:
            raise InvalidWasm(f"br_table label count {count} exceeds the body")
        labels = []
        for _ in range(count + 1):
            label, pos = _uleb(code, pos, 32)
            labels.append(label)
        return op, tuple(labels), pos
    if kind in _FIXED_SIZE:
        size = _FIXED_SIZE[kind]
        if pos + size > len(code):
            raise IndexError
        return op, (code[pos : pos + size],), pos + size
    if kind is Imm.LANE:
        return op, (code[pos],), pos + 1
    if kind is Imm.MEMARG_LANE:
        align, offset, memory, pos = _memarg(code, pos)
        return op, (align, offset, memory, code[pos]), pos + 1
    if kind is Imm.SELECT_T:
        count, pos = _uleb(code, pos, 32)
        if count > len(code) - pos:
            raise InvalidWasm(f"select type count {count} exceeds the body")
        types = []
        for _ in range(count):
            end = _value_type(code, pos)
            types.append(code[pos:end])
            pos = end
        return op, tuple(types), pos
    # Imm.HEAP_TYPE
    end = _sleb(code, pos, 33)[1]
    return op, (code[pos:end],), end


_FIXED_SIZE = {Imm.F32: 4, Imm.F64: 8, Imm.V128: 16, Imm.SHUFFLE: 16}


def decode_expression(code: bytes, pos: int = 0, end: int | None = None) -> list[Instruction]:
    """Decode instructions from `pos` up to and including the `end` closing the expression.

    The expression must close exactly at `end` (default: the end of `code`); block nesting
    is tracked so the closing `end` is found, but typing is left to wasmtime.
    """
    limit = len(code) if end is None else end
    code = bytes(code[:limit])
    out: list[Instruction] = []
    depth = 0
    try:
        while True:
            start = pos
            op, imm, pos = _decode_one(code, pos)
            out.append(Instruction(op, start, imm))
            key = op.key
            if key == 0x0B:
                if depth == 0:
                    break
                depth -= 1
            elif key == 0x02 or key == 0x03 or key == 0x04:
                depth += 1
    except IndexError:
        raise InvalidWasm(f"function body ends inside an instruction (offset {start})") from None
    if pos != limit:
        raise InvalidWasm(f"{limit - pos} bytes after the final end of the function body")
    return out


def decode_function_body(body: bytes) -> FunctionBody:
    """Decode one code-section entry (without its size prefix): locals, then instructions."""
    try:
        groups, pos = _uleb(body, 0, 32)
        if groups > len(body):
            raise InvalidWasm(f"local declaration count {groups} exceeds the body")
        local_groups = []
        total = 0
        for _ in range(groups):
            count, pos = _uleb(body, pos, 32)
            end = _value_type(body, pos)
            local_groups.append((count, bytes(body[pos:end])))
            total += count
            pos = end
    except IndexError:
        raise InvalidWasm("function body ends inside its local declarations") from None
    if total > 0xFFFF_FFFF:
        raise InvalidWasm(f"too many locals ({total})")
    return FunctionBody(tuple(local_groups), pos, tuple(decode_expression(body, pos)))


# --- Encoding ----------------------------------------------------------------------------


def _encode_memarg(align: int, offset: int, memory: int) -> bytes:
    if memory:
        return encode_unsigned(align | 0x40) + encode_unsigned(memory) + encode_unsigned(offset)
    return encode_unsigned(align) + encode_unsigned(offset)


def encode_instruction(name: str, *imm: int | bytes) -> bytes:
    """Encode one instruction given its name and immediates (the tuple `decode` yields)."""
    op = OPCODES_BY_NAME[name]
    key = op.key
    head = bytes((key,)) if key < 0x100 else bytes((key >> 12,)) + encode_unsigned(key & 0xFFF)
    kind = op.imm
    if kind is Imm.NONE:
        return head
    if kind in (Imm.INDEX, Imm.INDEX2):
        return head + b"".join(encode_unsigned(int(i)) for i in imm)
    if kind in (Imm.I32, Imm.I64):
        return head + encode_signed(int(imm[0]))
    if kind is Imm.BR_TABLE:
        labels = [int(i) for i in imm]
        body = b"".join(encode_unsigned(label) for label in labels)
        return head + encode_unsigned(len(labels) - 1) + body
    if kind is Imm.MEMARG:
        align, offset, memory = (int(i) for i in imm)
        return head + _encode_memarg(align, offset, memory)
    if kind is Imm.MEMARG_LANE:
        align, offset, memory, lane = (int(i) for i in imm)
        return head + _encode_memarg(align, offset, memory) + bytes((lane,))
    if kind is Imm.LANE:
        return head + bytes((int(imm[0]),))
    if kind is Imm.SELECT_T:
        return head + encode_unsigned(len(imm)) + b"".join(bytes(t) for t in imm)  # type: ignore[arg-type]
    # BLOCK, F32, F64, V128, SHUFFLE, HEAP_TYPE: raw bytes
    raw = imm[0]
    assert isinstance(raw, bytes)
    return head + raw


def encode_instructions(instructions: list[Instruction] | tuple[Instruction, ...]) -> bytes:
    """Encode decoded instructions back to bytes (canonical LEB128 and memarg forms)."""
    return b"".join(encode_instruction(i.op.name, *i.imm) for i in instructions)
