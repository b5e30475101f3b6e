;; One Adam (AdamW) update of a parameter tensor in a single pass over tfjs-backend-wasm's heap:
;;   g  = grad * gradScale                       (gradScale: global-norm clipping, else 1)
;;   m' = m * beta1 + g * (1 - beta1)
;;   v' = v * beta2 + (g * g) * (1 - beta2)
;;   p' = p * decay - (m' / (sqrt(v') + eps)) * stepSize   (decay: 1 - lr * weight decay, else 1)
;; Same float32 operations in the same order, with the same float32 constants (1 - beta and the
;; decay are rounded from the JS numbers, as tfjs's scalars are), as the tfjs formulation in
;; train/engine/adam.ts: the two give the same bits (test/simd-kernels.test.ts).
;;
;; WHY: that formulation is ~10 tfjs kernels per parameter tensor, ~1,500 kernel calls and ~10
;; full passes over the parameters per step (45-60 ms of a ~1 s data-parallel step, paid by every
;; worker); this is one call and one pass per tensor.
;; Rebuild the .wasm beside this file with `npm run build:kernels`.
(module
  (import "env" "memory" (memory 0))

  (func (export "adam")
    (param $p i32) (param $m i32) (param $v i32) (param $g i32)
    (param $pOut i32) (param $mOut i32) (param $vOut i32) (param $n i32)
    (param $beta1 f32) (param $oneMinusBeta1 f32) (param $beta2 f32) (param $oneMinusBeta2 f32)
    (param $eps f32) (param $stepSize f32)
    (param $decay f32) (param $gradScale f32)
    (local $i i32) (local $o i32) (local $end4 i32)
    (local $b1 v128) (local $c1 v128) (local $b2 v128) (local $c2 v128) (local $e v128) (local $s v128)
    (local $d v128) (local $gs v128) (local $gv v128) (local $mv v128) (local $vv v128)
    (local $gf f32) (local $mf f32) (local $vf f32)
    (local.set $b1 (f32x4.splat (local.get $beta1)))
    (local.set $c1 (f32x4.splat (local.get $oneMinusBeta1)))
    (local.set $b2 (f32x4.splat (local.get $beta2)))
    (local.set $c2 (f32x4.splat (local.get $oneMinusBeta2)))
    (local.set $e (f32x4.splat (local.get $eps)))
    (local.set $s (f32x4.splat (local.get $stepSize)))
    (local.set $d (f32x4.splat (local.get $decay)))
    (local.set $gs (f32x4.splat (local.get $gradScale)))
    (local.set $end4 (i32.and (local.get $n) (i32.const -4)))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gv (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $o))) (local.get $gs)))
        (local.set $mv (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $o))) (local.get $b1))
          (f32x4.mul (local.get $gv) (local.get $c1))))
        (local.set $vv (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $o))) (local.get $b2))
          (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $c2))))
        (v128.store (i32.add (local.get $mOut) (local.get $o)) (local.get $mv))
        (v128.store (i32.add (local.get $vOut) (local.get $o)) (local.get $vv))
        (v128.store (i32.add (local.get $pOut) (local.get $o))
          (f32x4.sub
            (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $o))) (local.get $d))
            (f32x4.mul
              (f32x4.div (local.get $mv) (f32x4.add (f32x4.sqrt (local.get $vv)) (local.get $e)))
              (local.get $s))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $vec)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gf (f32.mul (f32.load (i32.add (local.get $g) (local.get $o))) (local.get $gradScale)))
        (local.set $mf (f32.add
          (f32.mul (f32.load (i32.add (local.get $m) (local.get $o))) (local.get $beta1))
          (f32.mul (local.get $gf) (local.get $oneMinusBeta1))))
        (local.set $vf (f32.add
          (f32.mul (f32.load (i32.add (local.get $v) (local.get $o))) (local.get $beta2))
          (f32.mul (f32.mul (local.get $gf) (local.get $gf)) (local.get $oneMinusBeta2))))
        (f32.store (i32.add (local.get $mOut) (local.get $o)) (local.get $mf))
        (f32.store (i32.add (local.get $vOut) (local.get $o)) (local.get $vf))
        (f32.store (i32.add (local.get $pOut) (local.get $o))
          (f32.sub
            (f32.mul (f32.load (i32.add (local.get $p) (local.get $o))) (local.get $decay))
            (f32.mul
              (f32.div (local.get $mf) (f32.add (f32.sqrt (local.get $vf)) (local.get $eps)))
              (local.get $stepSize))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))
)
