;; A counter canister body for the `wat_canister` fixture ({I} is the pointer type).
;; The start function sets the counter to 10; `inc` adds one and replies with the new
;; value; `get` replies with it; `grow` grows the heap by one page and replies with the
;; old size in pages; `size` replies with the heap size in pages.
  (global $n (mut i64) (i64.const 0))
  (global $f (mut f64) (f64.const 0.5))
  (func $start (global.set $n (i64.const 10)))
  (start $start)
  (func (export "canister_update inc")
    (global.set $n (i64.add (global.get $n) (i64.const 1)))
    (global.set $f (f64.mul (global.get $f) (f64.const 2)))
    (call $reply_i64 (global.get $n)))
  (func (export "canister_query get")
    (call $reply_i64 (global.get $n)))
  (func (export "canister_update grow")
    (call $reply_i64 (call $to_i64 (memory.grow ({I}.const 1)))))
  (func (export "canister_query size")
    (call $reply_i64 (call $to_i64 (memory.size))))
