;; Strided copy on tfjs-backend-wasm's heap: `rows` runs of `bytes` bytes, the i-th from
;; src + i * srcStride to dst + i * dstStride. Slicing columns (SplitV of the fused q|k|v
;; projection) and concatenating along the last axis (its gradient) are this, one call per part.
;;
;; WHY: tfjs-backend-wasm's Concat (and our Slice before this) copied each row with a JS
;; TypedArray.set, ~1 us per call: ~4 ms to split a [3200 x 384] projection into three.
;; Rebuild the .wasm beside this file with `npm run build:kernels`.
(module
  (import "env" "memory" (memory 0))
  (func (export "copyRows") (param $src i32) (param $dst i32) (param $rows i32)
                            (param $srcStride i32) (param $dstStride i32) (param $bytes i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $rows)))
      (memory.copy (local.get $dst) (local.get $src) (local.get $bytes))
      (local.set $src (i32.add (local.get $src) (local.get $srcStride)))
      (local.set $dst (i32.add (local.get $dst) (local.get $dstStride)))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br $l))))
)
