;; LayerNorm over the last axis of a row-major [rows x d] float32 matrix (d a multiple of 4), forward
;; and backward, on tfjs-backend-wasm's heap:
;;   forward:  mu = mean(x), r = 1 / sqrt(mean((x - mu)^2) + eps), xhat = (x - mu) r, y = xhat g + b
;;   backward: dxhat = dy g, dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat)),
;;             dg = sum over rows of dy xhat, db = sum over rows of dy
;;
;; WHY: written with tfjs ops, a LayerNorm is ~9 kernels forward and ~20 backward, each a pass over
;; the matrix (~8 ms per [3200 x 128] forward + backward here; the reference model has 13 such
;; LayerNorms per training step, 19 small ones in the decoder). These are two passes each way.
;; Rebuild the .wasm beside this file with `npm run build:kernels`.
(module
  (import "env" "memory" (memory 0))

  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  (func (export "forward")
    (param $x i32) (param $g i32) (param $b i32) (param $y i32) (param $xhat i32) (param $rstd i32)
    (param $rows i32) (param $d i32) (param $eps f32)
    (local $r i32) (local $j i32) (local $rowBytes i32) (local $o i32) (local $dBytes i32)
    (local $acc v128) (local $mu v128) (local $rs v128) (local $c v128) (local $h v128)
    (local $invD f32) (local $mean f32) (local $inv f32)
    (local.set $dBytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $invD (f32.div (f32.const 1) (f32.convert_i32_u (local.get $d))))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $rowBytes (i32.mul (local.get $r) (local.get $dBytes)))
        ;; mean
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $d1 (loop $l1
          (br_if $d1 (i32.ge_u (local.get $j) (local.get $dBytes)))
          (local.set $acc (f32x4.add (local.get $acc)
            (v128.load (i32.add (local.get $x) (i32.add (local.get $rowBytes) (local.get $j))))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l1)))
        (local.set $mean (f32.mul (call $hsum (local.get $acc)) (local.get $invD)))
        (local.set $mu (f32x4.splat (local.get $mean)))
        ;; variance
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $d2 (loop $l2
          (br_if $d2 (i32.ge_u (local.get $j) (local.get $dBytes)))
          (local.set $c (f32x4.sub
            (v128.load (i32.add (local.get $x) (i32.add (local.get $rowBytes) (local.get $j)))) (local.get $mu)))
          (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $c) (local.get $c))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l2)))
        (local.set $inv (f32.div (f32.const 1)
          (f32.sqrt (f32.add (f32.mul (call $hsum (local.get $acc)) (local.get $invD)) (local.get $eps)))))
        (f32.store (i32.add (local.get $rstd) (i32.shl (local.get $r) (i32.const 2))) (local.get $inv))
        (local.set $rs (f32x4.splat (local.get $inv)))
        ;; xhat and y
        (local.set $j (i32.const 0))
        (block $d3 (loop $l3
          (br_if $d3 (i32.ge_u (local.get $j) (local.get $dBytes)))
          (local.set $o (i32.add (local.get $rowBytes) (local.get $j)))
          (local.set $h (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $o))) (local.get $mu)) (local.get $rs)))
          (v128.store (i32.add (local.get $xhat) (local.get $o)) (local.get $h))
          (v128.store (i32.add (local.get $y) (local.get $o))
            (f32x4.add (f32x4.mul (local.get $h) (v128.load (i32.add (local.get $g) (local.get $j))))
              (v128.load (i32.add (local.get $b) (local.get $j)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l3)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))

  (func (export "backward")
    (param $dy i32) (param $xhat i32) (param $rstd i32) (param $g i32)
    (param $dx i32) (param $dg i32) (param $db i32) (param $rows i32) (param $d i32)
    (local $r i32) (local $j i32) (local $rowBytes i32) (local $o i32) (local $dBytes i32)
    (local $s1 v128) (local $s2 v128) (local $dyv v128) (local $h v128) (local $dh v128)
    (local $m1 v128) (local $m2 v128) (local $rs v128) (local $invD f32)
    (local.set $dBytes (i32.shl (local.get $d) (i32.const 2)))
    (local.set $invD (f32.div (f32.const 1) (f32.convert_i32_u (local.get $d))))
    (memory.fill (local.get $dg) (i32.const 0) (local.get $dBytes))
    (memory.fill (local.get $db) (i32.const 0) (local.get $dBytes))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $rowBytes (i32.mul (local.get $r) (local.get $dBytes)))
        ;; sums of dxhat and dxhat * xhat; dg and db accumulate
        (local.set $s1 (v128.const i32x4 0 0 0 0))
        (local.set $s2 (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $d1 (loop $l1
          (br_if $d1 (i32.ge_u (local.get $j) (local.get $dBytes)))
          (local.set $o (i32.add (local.get $rowBytes) (local.get $j)))
          (local.set $dyv (v128.load (i32.add (local.get $dy) (local.get $o))))
          (local.set $h (v128.load (i32.add (local.get $xhat) (local.get $o))))
          (local.set $dh (f32x4.mul (local.get $dyv) (v128.load (i32.add (local.get $g) (local.get $j)))))
          (local.set $s1 (f32x4.add (local.get $s1) (local.get $dh)))
          (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $dh) (local.get $h))))
          (v128.store (i32.add (local.get $dg) (local.get $j))
            (f32x4.add (v128.load (i32.add (local.get $dg) (local.get $j))) (f32x4.mul (local.get $dyv) (local.get $h))))
          (v128.store (i32.add (local.get $db) (local.get $j))
            (f32x4.add (v128.load (i32.add (local.get $db) (local.get $j))) (local.get $dyv)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l1)))
        (local.set $m1 (f32x4.splat (f32.mul (call $hsum (local.get $s1)) (local.get $invD))))
        (local.set $m2 (f32x4.splat (f32.mul (call $hsum (local.get $s2)) (local.get $invD))))
        (local.set $rs (f32x4.splat (f32.load (i32.add (local.get $rstd) (i32.shl (local.get $r) (i32.const 2))))))
        ;; dx
        (local.set $j (i32.const 0))
        (block $d2 (loop $l2
          (br_if $d2 (i32.ge_u (local.get $j) (local.get $dBytes)))
          (local.set $o (i32.add (local.get $rowBytes) (local.get $j)))
          (local.set $dh (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $o)))
            (v128.load (i32.add (local.get $g) (local.get $j)))))
          (v128.store (i32.add (local.get $dx) (local.get $o))
            (f32x4.mul (local.get $rs)
              (f32x4.sub (f32x4.sub (local.get $dh) (local.get $m1))
                (f32x4.mul (v128.load (i32.add (local.get $xhat) (local.get $o))) (local.get $m2)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $l2)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))
)
