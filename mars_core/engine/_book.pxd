# distutils: language = c++
"""C-level declaration of `OrderBook`: the core's state and internals (`_core.pxd`) plus its queries and logs."""
from mars_core.engine._core cimport BookCore, Level, Order


cdef class OrderBook(BookCore):
    pass
