;; GELU (tanh form) around tfjs's own Sigmoid, in two passes on tfjs-backend-wasm's heap (n a
;; multiple of 4). With s = sigmoid(2 z), z = c (x + a x^3), gelu(x) = x s, and its derivative
;; s + 2 x s (1 - s) c (1 + 3 a x^2) (see ../gelu.ts):
;;   inner(x) -> 2 z                        (before tfjs's Sigmoid)
;;   outer(x, s) -> y = x s, d = gelu'(x)   (d saved: the backward pass is dy * d)
;;
;; WHY: in tfjs ops GELU is 6 kernels forward and ~9 backward, each a pass over the [rows x ffn]
;; activations; this is 3 forward (with the Sigmoid) and 1 backward.
;; Rebuild the .wasm beside this file with `npm run build:kernels`.
(module
  (import "env" "memory" (memory 0))

  ;; out = x (k2 + k1 x^2), k2 = 2c, k1 = 2ca
  (func (export "inner") (param $x i32) (param $out i32) (param $n i32) (param $k1 f32) (param $k2 f32)
    (local $o i32) (local $end i32) (local $v v128) (local $c1 v128) (local $c2 v128)
    (local.set $c1 (f32x4.splat (local.get $k1)))
    (local.set $c2 (f32x4.splat (local.get $k2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (local.set $v (v128.load (i32.add (local.get $x) (local.get $o))))
      (v128.store (i32.add (local.get $out) (local.get $o))
        (f32x4.mul (local.get $v)
          (f32x4.add (f32x4.mul (f32x4.mul (local.get $v) (local.get $v)) (local.get $c1)) (local.get $c2))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $l))))

  ;; y = x s; d = s + (2 x) (s (1 - s)) (k3 x^2 + c), k3 = 3ac
  (func (export "outer") (param $x i32) (param $s i32) (param $y i32) (param $d i32) (param $n i32)
                         (param $k3 f32) (param $c f32)
    (local $o i32) (local $end i32) (local $xv v128) (local $sv v128) (local $c3 v128) (local $cc v128)
    (local $one v128) (local $two v128)
    (local.set $c3 (f32x4.splat (local.get $k3)))
    (local.set $cc (f32x4.splat (local.get $c)))
    (local.set $one (f32x4.splat (f32.const 1)))
    (local.set $two (f32x4.splat (f32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $o) (local.get $end)))
      (local.set $xv (v128.load (i32.add (local.get $x) (local.get $o))))
      (local.set $sv (v128.load (i32.add (local.get $s) (local.get $o))))
      (v128.store (i32.add (local.get $y) (local.get $o)) (f32x4.mul (local.get $xv) (local.get $sv)))
      (v128.store (i32.add (local.get $d) (local.get $o))
        (f32x4.add (local.get $sv)
          (f32x4.mul
            (f32x4.mul (f32x4.mul (local.get $xv) (local.get $two))
              (f32x4.mul (local.get $sv) (f32x4.sub (local.get $one) (local.get $sv))))
            (f32x4.add (f32x4.mul (f32x4.mul (local.get $xv) (local.get $xv)) (local.get $c3)) (local.get $cc)))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $l))))
)
