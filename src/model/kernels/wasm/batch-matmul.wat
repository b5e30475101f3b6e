;; Batched float32 matrix product C[g] = A[g] B[g] for small matrices, on tfjs-backend-wasm's heap.
;;
;; WHY: tfjs-backend-wasm sends a matMul with a batch dimension > 1 to a generic loop (~2 GFLOP/s
;; here) and a 2-D one to XNNPACK, which packs a new operator for every new right-hand matrix
;; (~120-150 us per [100x32]x[32x100] product, i.e. overhead, not arithmetic). Attention is 128 such
;; products per layer and direction. This kernel does all groups of one call in one pass with
;; 128-bit SIMD, reading the operands where tfjs keeps them (this module imports tfjs's memory).
;;
;; Layout: A is read through element strides (so a transposed A costs nothing); each group's B is
;; first copied into `pack` as a row-major [k x n8] panel (n8 = n rounded up to 8, zero padded),
;; so the inner loop loads 8 consecutive columns of a row of B with two v128 loads whatever
;; tfjs's layout of B was. C is written row-major, [groups, m, n], contiguous.
;; Register blocking: 4 rows x 8 columns of C in 8 v128 accumulators; leftover rows 1 x 8.
;; All pointers are byte addresses into memory; strides and sizes count elements.
;; Rebuild the .wasm beside this file with `npm run build:kernels` (test/simd-kernels.test.ts
;; checks that the committed binary is this source's).
(module
  (import "env" "memory" (memory 0))

  ;; Stores 8 floats (lo, hi) at dst, or only the first `count` of them when count < 8 (the last
  ;; column block of a row whose n is not a multiple of 8), lane by lane: memory.copy of a few
  ;; bytes measured ~10x slower than these stores.
  (func $storeRow (param $dst i32) (param $lo v128) (param $hi v128) (param $count i32)
    (if (i32.ge_u (local.get $count) (i32.const 8))
      (then
        (v128.store (local.get $dst) (local.get $lo))
        (v128.store offset=16 (local.get $dst) (local.get $hi))
        (return)))
    (if (i32.ge_u (local.get $count) (i32.const 4))
      (then
        (v128.store (local.get $dst) (local.get $lo))
        (local.set $lo (local.get $hi))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $count (i32.sub (local.get $count) (i32.const 4)))))
    (if (i32.ge_u (local.get $count) (i32.const 1))
      (then (v128.store32_lane 0 (local.get $dst) (local.get $lo))))
    (if (i32.ge_u (local.get $count) (i32.const 2))
      (then (v128.store32_lane offset=4 1 (local.get $dst) (local.get $lo))))
    (if (i32.ge_u (local.get $count) (i32.const 3))
      (then (v128.store32_lane offset=8 2 (local.get $dst) (local.get $lo)))))

  ;; The first `count` (< 4) floats at p in the low lanes of a vector, zeros above.
  (func $loadPartial (param $p i32) (param $count i32) (result v128)
    (local $v v128)
    (if (i32.ge_u (local.get $count) (i32.const 1))
      (then (local.set $v (v128.load32_lane 0 (local.get $p) (local.get $v)))))
    (if (i32.ge_u (local.get $count) (i32.const 2))
      (then (local.set $v (v128.load32_lane offset=4 1 (local.get $p) (local.get $v)))))
    (if (i32.ge_u (local.get $count) (i32.const 3))
      (then (local.set $v (v128.load32_lane offset=8 2 (local.get $p) (local.get $v)))))
    (local.get $v))

  ;; The inverse of storeRow: 8 floats at p as (lo, hi), or the first `count` of them, zeros above.
  (func $loadRow (param $p i32) (param $count i32) (result v128 v128)
    (if (i32.ge_u (local.get $count) (i32.const 8))
      (then (return (v128.load (local.get $p)) (v128.load offset=16 (local.get $p)))))
    (if (i32.ge_u (local.get $count) (i32.const 4))
      (then (return (v128.load (local.get $p))
        (call $loadPartial (i32.add (local.get $p) (i32.const 16)) (i32.sub (local.get $count) (i32.const 4))))))
    (call $loadPartial (local.get $p) (local.get $count))
    (v128.const i32x4 0 0 0 0))

  ;; Copies B[g] (k x n, element strides bRow, bCol) into pack as a row-major [k x n8] panel.
  (func $packB (param $b i32) (param $pack i32) (param $n i32) (param $k i32) (param $n8 i32)
               (param $bRow i32) (param $bCol i32)
    (local $kk i32) (local $j i32) (local $src i32) (local $dst i32)
    (local.set $kk (i32.const 0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $kk) (local.get $k)))
        (local.set $src (i32.add (local.get $b)
          (i32.shl (i32.mul (local.get $kk) (local.get $bRow)) (i32.const 2))))
        (local.set $dst (i32.add (local.get $pack)
          (i32.shl (i32.mul (local.get $kk) (local.get $n8)) (i32.const 2))))
        (if (i32.eq (local.get $bCol) (i32.const 1))
          (then (memory.copy (local.get $dst) (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
          (else
            (local.set $j (i32.const 0))
            (block $rowDone
              (loop $cols
                (br_if $rowDone (i32.ge_u (local.get $j) (local.get $n)))
                (f32.store
                  (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
                  (f32.load (i32.add (local.get $src)
                    (i32.shl (i32.mul (local.get $j) (local.get $bCol)) (i32.const 2)))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $cols)))))
        (memory.fill
          (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2)))
          (i32.const 0)
          (i32.shl (i32.sub (local.get $n8) (local.get $n)) (i32.const 2)))
        (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
        (br $rows))))

  ;; C block rows i..i+3, columns j..j+7 of one group. aRowPtr points at A[i, k0]; pack at column
  ;; j. With accumulate, the block adds to what C holds (the product over the earlier k chunks).
  (func $block4x8 (param $aRowPtr i32) (param $aRowBytes i32) (param $aColBytes i32)
                  (param $packCol i32) (param $n8Bytes i32) (param $k i32)
                  (param $cPtr i32) (param $nBytes i32) (param $count i32) (param $accumulate i32)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $bp i32) (local $kk i32)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (if (local.get $accumulate)
      (then
        (call $loadRow (local.get $cPtr) (local.get $count))
        (local.set $c01) (local.set $c00)
        (call $loadRow (i32.add (local.get $cPtr) (local.get $nBytes)) (local.get $count))
        (local.set $c11) (local.set $c10)
        (call $loadRow (i32.add (local.get $cPtr) (i32.shl (local.get $nBytes) (i32.const 1))) (local.get $count))
        (local.set $c21) (local.set $c20)
        (call $loadRow (i32.add (local.get $cPtr) (i32.mul (local.get $nBytes) (i32.const 3))) (local.get $count))
        (local.set $c31) (local.set $c30)))
    (local.set $a0 (local.get $aRowPtr))
    (local.set $a1 (i32.add (local.get $a0) (local.get $aRowBytes)))
    (local.set $a2 (i32.add (local.get $a1) (local.get $aRowBytes)))
    (local.set $a3 (i32.add (local.get $a2) (local.get $aRowBytes)))
    (local.set $bp (local.get $packCol))
    (local.set $kk (local.get $k))
    (block $done
      (loop $inner
        (br_if $done (i32.eqz (local.get $kk)))
        (local.set $b0 (v128.load (local.get $bp)))
        (local.set $b1 (v128.load offset=16 (local.get $bp)))
        (local.set $x (f32x4.splat (f32.load (local.get $a0))))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $x (f32x4.splat (f32.load (local.get $a1))))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $x (f32x4.splat (f32.load (local.get $a2))))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $x (f32x4.splat (f32.load (local.get $a3))))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $a0 (i32.add (local.get $a0) (local.get $aColBytes)))
        (local.set $a1 (i32.add (local.get $a1) (local.get $aColBytes)))
        (local.set $a2 (i32.add (local.get $a2) (local.get $aColBytes)))
        (local.set $a3 (i32.add (local.get $a3) (local.get $aColBytes)))
        (local.set $bp (i32.add (local.get $bp) (local.get $n8Bytes)))
        (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
        (br $inner)))
    (call $storeRow (local.get $cPtr) (local.get $c00) (local.get $c01) (local.get $count))
    (local.set $cPtr (i32.add (local.get $cPtr) (local.get $nBytes)))
    (call $storeRow (local.get $cPtr) (local.get $c10) (local.get $c11) (local.get $count))
    (local.set $cPtr (i32.add (local.get $cPtr) (local.get $nBytes)))
    (call $storeRow (local.get $cPtr) (local.get $c20) (local.get $c21) (local.get $count))
    (local.set $cPtr (i32.add (local.get $cPtr) (local.get $nBytes)))
    (call $storeRow (local.get $cPtr) (local.get $c30) (local.get $c31) (local.get $count)))

  ;; block4x8 for a transposed A (aRow = 1): A[i..i+3, kk] are 4 consecutive floats, read with one
  ;; vector load and broadcast lane by lane (4 scalar loads measured ~25% slower on x^T dy).
  (func $block4x8T (param $aRowPtr i32) (param $aRowBytes i32) (param $aColBytes i32)
                  (param $packCol i32) (param $n8Bytes i32) (param $k i32)
                  (param $cPtr i32) (param $nBytes i32) (param $count i32) (param $accumulate i32)
    (local $a0 i32) (local $bp i32) (local $kk i32)
    (local $b0 v128) (local $b1 v128) (local $x v128) (local $av v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (if (local.get $accumulate)
      (then
        (call $loadRow (local.get $cPtr) (local.get $count))
        (local.set $c01) (local.set $c00)
        (call $loadRow (i32.add (local.get $cPtr) (local.get $nBytes)) (local.get $count))
        (local.set $c11) (local.set $c10)
        (call $loadRow (i32.add (local.get $cPtr) (i32.shl (local.get $nBytes) (i32.const 1))) (local.get $count))
        (local.set $c21) (local.set $c20)
        (call $loadRow (i32.add (local.get $cPtr) (i32.mul (local.get $nBytes) (i32.const 3))) (local.get $count))
        (local.set $c31) (local.set $c30)))
    (local.set $a0 (local.get $aRowPtr))
    (local.set $bp (local.get $packCol))
    (local.set $kk (local.get $k))
    (block $done
      (loop $inner
        (br_if $done (i32.eqz (local.get $kk)))
        (local.set $b0 (v128.load (local.get $bp)))
        (local.set $b1 (v128.load offset=16 (local.get $bp)))
        (local.set $av (v128.load (local.get $a0)))
        (local.set $x (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $av) (local.get $av)))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $x (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $av) (local.get $av)))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $x (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $av) (local.get $av)))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $x (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $av) (local.get $av)))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
        (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
        (local.set $a0 (i32.add (local.get $a0) (local.get $aColBytes)))
        (local.set $bp (i32.add (local.get $bp) (local.get $n8Bytes)))
        (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
        (br $inner)))
    (call $storeRow (local.get $cPtr) (local.get $c00) (local.get $c01) (local.get $count))
    (local.set $cPtr (i32.add (local.get $cPtr) (local.get $nBytes)))
    (call $storeRow (local.get $cPtr) (local.get $c10) (local.get $c11) (local.get $count))
    (local.set $cPtr (i32.add (local.get $cPtr) (local.get $nBytes)))
    (call $storeRow (local.get $cPtr) (local.get $c20) (local.get $c21) (local.get $count))
    (local.set $cPtr (i32.add (local.get $cPtr) (local.get $nBytes)))
    (call $storeRow (local.get $cPtr) (local.get $c30) (local.get $c31) (local.get $count)))

  ;; One row of C, columns j..j+7 (the rows left over after the blocks of 4).
  (func $block1x8 (param $aRowPtr i32) (param $aColBytes i32)
                  (param $packCol i32) (param $n8Bytes i32) (param $k i32)
                  (param $cPtr i32) (param $count i32) (param $accumulate i32)
    (local $a0 i32) (local $bp i32) (local $kk i32) (local $x v128) (local $c0 v128) (local $c1 v128)
    (if (local.get $accumulate)
      (then
        (call $loadRow (local.get $cPtr) (local.get $count))
        (local.set $c1) (local.set $c0)))
    (local.set $a0 (local.get $aRowPtr))
    (local.set $bp (local.get $packCol))
    (local.set $kk (local.get $k))
    (block $done
      (loop $inner
        (br_if $done (i32.eqz (local.get $kk)))
        (local.set $x (f32x4.splat (f32.load (local.get $a0))))
        (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $x) (v128.load (local.get $bp)))))
        (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $bp)))))
        (local.set $a0 (i32.add (local.get $a0) (local.get $aColBytes)))
        (local.set $bp (i32.add (local.get $bp) (local.get $n8Bytes)))
        (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
        (br $inner)))
    (call $storeRow (local.get $cPtr) (local.get $c0) (local.get $c1) (local.get $count)))

  ;; C[g] = A[g] B[g] for g < groups. A[g] is m x k with element strides (aGroup, aRow, aCol), B[g]
  ;; is k x n with (bGroup, bRow, bCol); a group stride of 0 broadcasts one matrix to all groups.
  ;; The inner dimension is taken in chunks of kc rows of B (each chunk's panel, kc x n8 floats,
  ;; stays in cache while every block of C uses it; later chunks add to C): a long k, as in a
  ;; weight gradient x^T dy over thousands of rows, otherwise streams the whole panel from memory
  ;; once per block. pack must hold min(k, kc) * n8 floats.
  (func (export "batchMatMul")
    (param $a i32) (param $b i32) (param $c i32) (param $pack i32)
    (param $groups i32) (param $m i32) (param $n i32) (param $k i32)
    (param $aGroup i32) (param $aRow i32) (param $aCol i32)
    (param $bGroup i32) (param $bRow i32) (param $bCol i32) (param $kc i32)
    (local $g i32) (local $i i32) (local $j i32) (local $n8 i32) (local $k0 i32) (local $kLen i32)
    (local $aBase i32) (local $aChunk i32) (local $cBase i32) (local $packed i32)
    (local $aRowBytes i32) (local $aColBytes i32) (local $n8Bytes i32) (local $nBytes i32)
    (local.set $n8 (i32.and (i32.add (local.get $n) (i32.const 7)) (i32.const -8)))
    (local.set $aRowBytes (i32.shl (local.get $aRow) (i32.const 2)))
    (local.set $aColBytes (i32.shl (local.get $aCol) (i32.const 2)))
    (local.set $n8Bytes (i32.shl (local.get $n8) (i32.const 2)))
    (local.set $nBytes (i32.shl (local.get $n) (i32.const 2)))
    (block $groupsDone
      (loop $groupLoop
        (br_if $groupsDone (i32.ge_u (local.get $g) (local.get $groups)))
        (local.set $aBase (i32.add (local.get $a) (i32.shl (i32.mul (local.get $g) (local.get $aGroup)) (i32.const 2))))
        (local.set $cBase (i32.add (local.get $c)
          (i32.shl (i32.mul (i32.mul (local.get $g) (local.get $m)) (local.get $n)) (i32.const 2))))
        ;; At least one chunk, so that k = 0 writes zeros.
        (local.set $k0 (i32.const 0))
        (loop $chunkLoop
          (local.set $kLen (select (local.get $kc) (i32.sub (local.get $k) (local.get $k0))
            (i32.lt_u (local.get $kc) (i32.sub (local.get $k) (local.get $k0)))))
          ;; A broadcast B (bGroup = 0) that fits one chunk is packed once for all groups.
          (if (i32.or (i32.eqz (local.get $packed))
                (i32.or (i32.ne (local.get $bGroup) (i32.const 0)) (i32.lt_u (local.get $kc) (local.get $k))))
            (then (call $packB
              (i32.add (local.get $b) (i32.shl (i32.add (i32.mul (local.get $g) (local.get $bGroup))
                (i32.mul (local.get $k0) (local.get $bRow))) (i32.const 2)))
              (local.get $pack) (local.get $n) (local.get $kLen) (local.get $n8) (local.get $bRow) (local.get $bCol))
              (local.set $packed (i32.const 1))))
          (local.set $aChunk (i32.add (local.get $aBase) (i32.mul (local.get $k0) (local.get $aColBytes))))
          (local.set $j (i32.const 0))
          (block $colsDone
            (loop $colLoop
              (br_if $colsDone (i32.ge_u (local.get $j) (local.get $n)))
              (local.set $i (i32.const 0))
              (block $rows4Done
                (loop $rows4
                  (br_if $rows4Done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $m)))
                  (if (i32.eq (local.get $aRow) (i32.const 1))
                    (then (call $block4x8T
                      (i32.add (local.get $aChunk) (i32.mul (local.get $i) (local.get $aRowBytes)))
                      (local.get $aRowBytes) (local.get $aColBytes)
                      (i32.add (local.get $pack) (i32.shl (local.get $j) (i32.const 2)))
                      (local.get $n8Bytes) (local.get $kLen)
                      (i32.add (local.get $cBase)
                        (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2)))
                      (local.get $nBytes) (i32.sub (local.get $n) (local.get $j)) (local.get $k0)))
                    (else (call $block4x8
                    (i32.add (local.get $aChunk) (i32.mul (local.get $i) (local.get $aRowBytes)))
                    (local.get $aRowBytes) (local.get $aColBytes)
                    (i32.add (local.get $pack) (i32.shl (local.get $j) (i32.const 2)))
                    (local.get $n8Bytes) (local.get $kLen)
                    (i32.add (local.get $cBase)
                      (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2)))
                    (local.get $nBytes) (i32.sub (local.get $n) (local.get $j)) (local.get $k0))))
                  (local.set $i (i32.add (local.get $i) (i32.const 4)))
                  (br $rows4)))
              (block $rows1Done
                (loop $rows1
                  (br_if $rows1Done (i32.ge_u (local.get $i) (local.get $m)))
                  (call $block1x8
                    (i32.add (local.get $aChunk) (i32.mul (local.get $i) (local.get $aRowBytes)))
                    (local.get $aColBytes)
                    (i32.add (local.get $pack) (i32.shl (local.get $j) (i32.const 2)))
                    (local.get $n8Bytes) (local.get $kLen)
                    (i32.add (local.get $cBase)
                      (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2)))
                    (i32.sub (local.get $n) (local.get $j)) (local.get $k0))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br $rows1)))
              (local.set $j (i32.add (local.get $j) (i32.const 8)))
              (br $colLoop)))
          (local.set $k0 (i32.add (local.get $k0) (local.get $kc)))
          (br_if $chunkLoop (i32.lt_u (local.get $k0) (local.get $k))))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $groupLoop))))
)
