"""A memory hint numba does not expose: software prefetch, for kernels that gather.

A sparse product reads ``rates[indices[k]]`` at addresses no hardware prefetcher can guess. The
index of a read a few synapses ahead is already known, so asking for that line early overlaps
the wait for it with the arithmetic of the reads before it. A prefetch changes no value; on a
CPU without the instruction LLVM drops it.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I8_POINTER = ir.PointerType(ir.IntType(8))
_I32 = ir.IntType(32)


@intrinsic
def prefetch(typingctx, array, index):
    """Ask for the cache line holding ``array[index]`` (``index`` a tuple of integers), for reading.

    No bounds check: the caller passes an index inside the array.
    """
    if not isinstance(array, types.Array) or not isinstance(index, types.BaseTuple) or len(index) != array.ndim:
        return None

    def codegen(context, builder, signature, args):
        array_type, index_type = signature.args
        view = context.make_array(array_type)(context, builder, args[0])
        indices = cgutils.unpack_tuple(builder, args[1], len(index_type))
        pointer = cgutils.get_item_pointer(context, builder, array_type, view, indices, wraparound=False)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [_I8_POINTER, _I32, _I32, _I32]), "llvm.prefetch.p0i8"
        )
        # read (0), keep in every cache level (3), data rather than instructions (1)
        arguments = [builder.bitcast(pointer, _I8_POINTER), _I32(0), _I32(3), _I32(1)]
        builder.call(function, arguments)
        return context.get_dummy_value()

    return types.void(array, index), codegen
