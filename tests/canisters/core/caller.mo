// Caller side of the inter-canister call tests (moc 4.x / mo:core): the callee's
// principal is an argument, cycles are attached with `(with cycles = n)`.
import Cycles "mo:core/Cycles";
import Error "mo:core/Error";
import Principal "mo:core/Principal";

persistent actor Caller {
  type Callee = actor {
    echo : (Text) -> async Text;
    fail : () -> async ();
    reject : () -> async ();
  };

  var lastRefund : Nat = 0;

  // Calls `callee.echo(msg)` with `cycles` attached; returns the reply and the refund.
  public func call_echo(callee : Principal, msg : Text, cycles : Nat) : async (Text, Nat) {
    let c : Callee = actor (Principal.toText(callee));
    let reply = await (with cycles = cycles) c.echo(msg);
    lastRefund := Cycles.refunded();
    (reply, lastRefund);
  };

  // Calls `callee.fail()` (a trap in the callee); returns the reject code and message.
  public func call_fail(callee : Principal) : async Text {
    let c : Callee = actor (Principal.toText(callee));
    try {
      await c.fail();
      "replied";
    } catch (e) {
      debug_show (Error.code(e)) # ": " # Error.message(e);
    };
  };

  // Calls `callee.reject()` (an explicit reject); returns the reject code and message.
  public func call_reject(callee : Principal) : async Text {
    let c : Callee = actor (Principal.toText(callee));
    try {
      await c.reject();
      "replied";
    } catch (e) {
      debug_show (Error.code(e)) # ": " # Error.message(e);
    };
  };

  public query func last_refund() : async Nat {
    lastRefund;
  };

  public query func balance() : async Nat {
    Cycles.balance();
  };
};
