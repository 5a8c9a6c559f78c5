# distutils: language = c++
"""C-level declarations of the order book's core (`_core.pyx`), shared with `OrderBook` and the replay loop."""
from libc.stdint cimport int8_t, int32_t, int64_t
from libcpp.map cimport map as cmap
from libcpp.unordered_map cimport unordered_map
from libcpp.vector cimport vector


cdef struct Order:
    int64_t id
    int64_t price
    int64_t qty      # remaining visible quantity
    int64_t ts
    int64_t seq      # arrival sequence; strictly increasing from head to tail of a level
    int32_t agent
    int32_t prev     # pool slot of the order ahead in the queue, -1 at the head
    int32_t next     # pool slot of the order behind, -1 at the tail
    int8_t side      # 1 buy, -1 sell


cdef struct Level:
    int32_t head
    int32_t tail
    int32_t count
    int64_t qty


cdef class BookCore:
    cdef vector[Order] pool
    cdef vector[int32_t] free_slots
    cdef unordered_map[int64_t, int32_t] index
    # Both sides are keyed so that begin() is the best level: asks by price, bids by -price.
    cdef cmap[int64_t, Level] asks
    cdef cmap[int64_t, Level] bids
    cdef int64_t seq_back
    cdef int64_t seq_front
    cdef public int64_t next_order_id
    cdef public bint auction
    cdef public bint accepting    # False while halted or closed: submits and modifies are rejected
    # market rules enforced per order (set by the exchange)
    cdef public int64_t tick_size
    cdef public int64_t lot_size
    cdef public int64_t band_low
    cdef public int64_t band_high
    # result of the last submit
    cdef public int64_t last_order_id
    cdef public int64_t last_filled
    cdef public int64_t last_rested
    # quantity accounting for check_integrity()
    cdef int64_t q_accepted
    cdef int64_t q_cancelled
    cdef int64_t q_discarded
    cdef int64_t q_maker
    cdef int64_t q_taker
    # trade log (columnar)
    cdef vector[int64_t] t_ts
    cdef vector[int64_t] t_price
    cdef vector[int64_t] t_qty
    cdef vector[int64_t] t_maker
    cdef vector[int64_t] t_taker
    cdef vector[int32_t] t_maker_agent
    cdef vector[int32_t] t_taker_agent
    cdef vector[int8_t] t_aggressor
    cdef int64_t trades_drained
    # order log (columnar)
    cdef public bint log_orders
    cdef vector[int64_t] o_ts
    cdef vector[int8_t] o_event
    cdef vector[int64_t] o_id
    cdef vector[int32_t] o_agent
    cdef vector[int8_t] o_side
    cdef vector[int64_t] o_price
    cdef vector[int64_t] o_qty
    cdef vector[int8_t] o_kind
    cdef vector[int8_t] o_status

    cdef int32_t _new_slot(self)
    cdef cmap[int64_t, Level]* _side_map(self, int8_t side)
    cdef void _link(self, int64_t order_id, int8_t side, int64_t price, int64_t qty, int64_t ts, int32_t agent, bint front)
    cdef void _unlink(self, int32_t slot)
    cdef Level* _level(self, int8_t side, int64_t price)
    cdef int64_t _reduce_slot(self, int32_t slot, int64_t qty)
    cdef void _trade(self, int64_t ts, int64_t price, int64_t qty, int32_t maker_slot, int64_t taker_id, int32_t taker_agent, int8_t aggressor)
    cdef int64_t _match(self, int8_t side, int64_t limit, int64_t qty, int64_t ts, int64_t taker_id, int32_t taker_agent)
    cdef void _log(self, int64_t ts, int8_t event, int64_t order_id, int32_t agent, int8_t side, int64_t price, int64_t qty, int8_t kind, int8_t status)
    cdef int _c_submit(self, int8_t side, int64_t price, int64_t qty, int64_t ts, int32_t agent, int8_t kind, int64_t order_id)
    cdef int _c_cancel(self, int64_t order_id, int64_t qty, int64_t ts, int32_t agent)
    cdef int64_t level_qty(self, int8_t side, int64_t price)
    cdef void top_into(self, int64_t* out, int levels)
