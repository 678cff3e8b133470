;; The sampler's passes over a position's logits, with SIMD (8 or 16 logits a step):
;; - at_least: the ids of the logits at or above a threshold. Speculative sampling needs this pass
;;   at every position it checks (about 240 per 5 x 40 tags), and a draw without top-k gathers its
;;   nucleus with it; over 6,173 logits it takes ~0.9 us here against ~6.6 us for the same loop in
;;   JavaScript.
;; - max_allowed and exp_sum_allowed: the softmax's maximum and, within 1e-3, its denominator over
;;   the tokens a row may emit, for the decision to stop a sample (the stop token is drawn with its
;;   probability among all of them, at every position once a sample may stop). 6,173 logits take
;;   ~1 + ~6 us here; the JavaScript pass they replace took 15-20 us.
;;
;; Memory: the caller writes the logits (f32) from `logits_at` and the row's blocked bytes (1 = never
;; emitted) from `blocked_at`, padded with blocked entries to a multiple of 16, and reads the ids
;; (i32) that `at_least` writes from `ids_at`; it grows the memory itself (memory.grow from
;; JavaScript).
(module
  (memory (export "memory") 1)

  ;; max_allowed and exp_sum_allowed read whole steps of 16 and 8 logits (count a multiple of 16).

  ;; The largest allowed logit of [0, count), NaN ignored as JavaScript's `logit > max` ignores it;
  ;; -infinity when none is allowed.
  (func (export "max_allowed") (param $logits_at i32) (param $blocked_at i32) (param $count i32) (result f32)
    (local $i i32) (local $at i32) (local $m8 v128) (local $m16 v128) (local $best v128) (local $lanes v128) (local $none v128)
    (local.set $none (f32x4.splat (f32.const -inf)))
    (local.set $best (local.get $none))
    (block $done
      (loop $steps
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $at (i32.add (local.get $logits_at) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $m8 (i8x16.eq (v128.load (i32.add (local.get $blocked_at) (local.get $i))) (v128.const i32x4 0 0 0 0)))
        ;; pmax(best, x) = best < x ? x : best, which keeps best when x is NaN.
        (local.set $m16 (i16x8.extend_low_i8x16_s (local.get $m8)))
        (local.set $best (f32x4.pmax (local.get $best)
          (v128.bitselect (v128.load (local.get $at)) (local.get $none) (i32x4.extend_low_i16x8_s (local.get $m16)))))
        (local.set $best (f32x4.pmax (local.get $best)
          (v128.bitselect (v128.load offset=16 (local.get $at)) (local.get $none) (i32x4.extend_high_i16x8_s (local.get $m16)))))
        (local.set $m16 (i16x8.extend_high_i8x16_s (local.get $m8)))
        (local.set $best (f32x4.pmax (local.get $best)
          (v128.bitselect (v128.load offset=32 (local.get $at)) (local.get $none) (i32x4.extend_low_i16x8_s (local.get $m16)))))
        (local.set $best (f32x4.pmax (local.get $best)
          (v128.bitselect (v128.load offset=48 (local.get $at)) (local.get $none) (i32x4.extend_high_i16x8_s (local.get $m16)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $steps)))
    (local.set $lanes (f32x4.pmax (local.get $best) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $best) (local.get $best))))
    (f32.max (f32x4.extract_lane 0 (local.get $lanes)) (f32x4.extract_lane 1 (local.get $lanes))))

;; The sum over the allowed logits x of [0, count) of 2^((x - max) * scale) (scale = log2(e) /
  ;; temperature: exp((x - max) / temperature)), 8 logits a step in two independent halves (a, b);
  ;; terms below 2^-100 are left out. Each 2^y is 2^n * p(f): n the nearest integer (the "magic
  ;; number" rounding: y + 1.5 * 2^23 holds n in its low bits), |f| <= 1/2, p the Taylor polynomial
  ;; of degree 3 of e^(f ln 2), whose relative error is below 8e-4 there. Every 16 terms are added in
  ;; float32 and then into two f64 sums. With the float32 rounding (about 1e-6 in all), every term is
  ;; within 1e-3 of its exact value: the caller decides from these bounds and sums exactly only when
  ;; they are not enough. NaN when an allowed (x - max) * scale is NaN, so that the caller computes
  ;; the sum exactly, as JavaScript would.
  (func (export "exp_sum_allowed") (param $logits_at i32) (param $blocked_at i32) (param $count i32) (param $max f32) (param $scale f32) (result f64)
    (local $i i32) (local $at i32) (local $m16 v128)
    (local $keep_a v128) (local $y_a v128) (local $shifted_a v128) (local $f_a v128) (local $p_a v128)
    (local $keep_b v128) (local $y_b v128) (local $shifted_b v128) (local $f_b v128) (local $p_b v128)
    (local $sum v128) (local $total v128) (local $nan v128) (local $maxv v128) (local $scalev v128)
    (local $magic v128) (local $c3 v128) (local $c2 v128) (local $c1 v128) (local $one v128) (local $floor v128) (local $bias v128)
    (local.set $maxv (f32x4.splat (local.get $max)))
    (local.set $scalev (f32x4.splat (local.get $scale)))
    (local.set $magic (f32x4.splat (f32.const 12582912)))
    (local.set $c3 (f32x4.splat (f32.const 0.05550410866482158)))
    (local.set $c2 (f32x4.splat (f32.const 0.2402265069591007)))
    (local.set $c1 (f32x4.splat (f32.const 0.6931471805599453)))
    (local.set $one (f32x4.splat (f32.const 1)))
    (local.set $floor (f32x4.splat (f32.const -100)))
    (local.set $bias (i32x4.splat (i32.const -1262485377)))
    (block $done
      (loop $steps
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $at (i32.add (local.get $logits_at) (i32.shl (local.get $i) (i32.const 2))))
        ;; 16-bit lanes of all ones where the blocked byte is 0, for 8 logits: a = 0-3, b = 4-7
        (local.set $m16
          (i16x8.extend_low_i8x16_s (i8x16.eq (v128.load64_zero (i32.add (local.get $blocked_at) (local.get $i))) (v128.const i32x4 0 0 0 0))))
        (local.set $y_a (f32x4.mul (f32x4.sub (v128.load (local.get $at)) (local.get $maxv)) (local.get $scalev)))
        (local.set $y_b (f32x4.mul (f32x4.sub (v128.load offset=16 (local.get $at)) (local.get $maxv)) (local.get $scalev)))
        (local.set $keep_a (i32x4.extend_low_i16x8_s (local.get $m16)))
        (local.set $keep_b (i32x4.extend_high_i16x8_s (local.get $m16)))
        (local.set $nan (v128.or (local.get $nan)
          (v128.or (v128.and (local.get $keep_a) (f32x4.ne (local.get $y_a) (local.get $y_a)))
                   (v128.and (local.get $keep_b) (f32x4.ne (local.get $y_b) (local.get $y_b))))))
        (local.set $keep_a (v128.and (local.get $keep_a) (f32x4.ge (local.get $y_a) (local.get $floor))))
        (local.set $keep_b (v128.and (local.get $keep_b) (f32x4.ge (local.get $y_b) (local.get $floor))))
        (local.set $shifted_a (f32x4.add (local.get $y_a) (local.get $magic)))
        (local.set $shifted_b (f32x4.add (local.get $y_b) (local.get $magic)))
        (local.set $f_a (f32x4.sub (local.get $y_a) (f32x4.sub (local.get $shifted_a) (local.get $magic))))
        (local.set $f_b (f32x4.sub (local.get $y_b) (f32x4.sub (local.get $shifted_b) (local.get $magic))))
        ;; p(f) = 1 + c1 f + c2 f^2 + c3 f^3, by Horner's rule
        (local.set $p_a (f32x4.add (f32x4.mul (local.get $c3) (local.get $f_a)) (local.get $c2)))
        (local.set $p_b (f32x4.add (f32x4.mul (local.get $c3) (local.get $f_b)) (local.get $c2)))
        (local.set $p_a (f32x4.add (f32x4.mul (local.get $p_a) (local.get $f_a)) (local.get $c1)))
        (local.set $p_b (f32x4.add (f32x4.mul (local.get $p_b) (local.get $f_b)) (local.get $c1)))
        (local.set $p_a (f32x4.add (f32x4.mul (local.get $p_a) (local.get $f_a)) (local.get $one)))
        (local.set $p_b (f32x4.add (f32x4.mul (local.get $p_b) (local.get $f_b)) (local.get $one)))
        ;; times 2^n, whose bits are (n + 127) << 23 with n = bits(shifted) - bits(1.5 * 2^23)
        (local.set $sum
          (f32x4.add (local.get $sum)
            (f32x4.add
              (v128.and (local.get $keep_a)
                (f32x4.mul (local.get $p_a) (i32x4.shl (i32x4.add (local.get $shifted_a) (local.get $bias)) (i32.const 23))))
              (v128.and (local.get $keep_b)
                (f32x4.mul (local.get $p_b) (i32x4.shl (i32x4.add (local.get $shifted_b) (local.get $bias)) (i32.const 23)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (if (i32.eqz (i32.and (local.get $i) (i32.const 15)))
          (then
            (local.set $total (f64x2.add (local.get $total) (f64x2.promote_low_f32x4 (local.get $sum))))
            (local.set $total (f64x2.add (local.get $total)
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $sum) (local.get $sum)))))
            (local.set $sum (v128.const i32x4 0 0 0 0))))
        (br $steps)))
    (if (v128.any_true (local.get $nan)) (then (return (f64.const nan))))
    (f64.add (f64x2.extract_lane 0 (local.get $total)) (f64x2.extract_lane 1 (local.get $total))))

  ;; Writes to ids_at, in increasing order, every i in [0, count) with the f32 at logits_at + 4i
  ;; >= threshold (NaN never is) and returns how many there are.
  (func (export "at_least") (param $logits_at i32) (param $count i32) (param $threshold f32) (param $ids_at i32) (result i32)
    (local $found i32) (local $i i32) (local $block_end i32) (local $at i32) (local $j i32) (local $bound v128)
    (local.set $bound (f32x4.splat (local.get $threshold)))
    (local.set $block_end (i32.and (local.get $count) (i32.const -16)))
    ;; Blocks of 16: one test for the whole block, a closer look only where one is at or above.
    (block $blocks_done
      (loop $blocks
        (br_if $blocks_done (i32.ge_u (local.get $i) (local.get $block_end)))
        (local.set $at (i32.add (local.get $logits_at) (i32.shl (local.get $i) (i32.const 2))))
        (if (v128.any_true
              (v128.or
                (v128.or (f32x4.ge (v128.load (local.get $at)) (local.get $bound))
                         (f32x4.ge (v128.load offset=16 (local.get $at)) (local.get $bound)))
                (v128.or (f32x4.ge (v128.load offset=32 (local.get $at)) (local.get $bound))
                         (f32x4.ge (v128.load offset=48 (local.get $at)) (local.get $bound)))))
          (then
            (local.set $j (i32.const 0))
            (loop $in_block
              (if (f32.ge (f32.load (i32.add (local.get $at) (i32.shl (local.get $j) (i32.const 2)))) (local.get $threshold))
                (then
                  (i32.store (i32.add (local.get $ids_at) (i32.shl (local.get $found) (i32.const 2))) (i32.add (local.get $i) (local.get $j)))
                  (local.set $found (i32.add (local.get $found) (i32.const 1)))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br_if $in_block (i32.lt_u (local.get $j) (i32.const 16))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $blocks)))
    ;; The last count mod 16, one at a time.
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $count)))
        (if (f32.ge (f32.load (i32.add (local.get $logits_at) (i32.shl (local.get $i) (i32.const 2)))) (local.get $threshold))
          (then
            (i32.store (i32.add (local.get $ids_at) (i32.shl (local.get $found) (i32.const 2))) (local.get $i))
            (local.set $found (i32.add (local.get $found) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    (local.get $found))
)
