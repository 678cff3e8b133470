;; The sampler's passes over a position's logits, with SIMD (8 or 16 logits a step):
;; - top_allowed: the allowed logits at or above a threshold, ranked best first with their ids.
;;   Speculative sampling ranks the ~100 above its hint at each position it checks (~215 per 5 x 40
;;   tags), and a draw without top-k the ~1,000 of its nucleus. A block of 16 logits below the
;;   threshold costs one SIMD test (6,173 logits: ~1 us, against ~6.6 us for the same loop in
;;   JavaScript); ranking what it finds here rather than in JavaScript (the ids copied out, the
;;   mask, an insertion sort there) took a sampling call's JavaScript from ~3.6 to ~2.6 ms, and a
;;   draw without top-k from ~0.4 to ~0.27 ms.
;; - max_allowed and exp_sum_allowed: the softmax's maximum and, within 1e-3, its denominator over
;;   the tokens a row may emit, for the decision to stop a sample (the stop token is drawn with its
;;   probability among all of them, at every position once a sample may stop). 6,173 logits take
;;   ~1 + ~6 us here; the JavaScript pass they replace took 15-20 us.
;; - max_of and exp_sum: a row's log-sum-exp, for a sub-word (BPE) model's candidate scores.
;;
;; Memory: the caller writes the logits (f32) from `logits_at` and the row's blocked bytes (1 = never
;; emitted) from `blocked_at`, padded with blocked entries to a multiple of 16, and reads the
;; ranking that `top_allowed` writes; it grows the memory itself (memory.grow from JavaScript).
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

  ;; The allowed logits of [0, count) at or above threshold (blocked byte 0; NaN never is): returns
  ;; how many there are, and, when that is at most `limit`, writes the best `depth` of them, best
  ;; first (ties: lower id first), as f32 values to values_at and ids to ranked_at. Each found token
  ;; becomes one i64 key at keys_at whose order is that ranking's, (value's bits as an ordered u32)
  ;; << 32 | (2^32 - 1 - id), so that one integer comparison ranks two tokens; a quickselect puts
  ;; the best `depth` keys first and a Shell sort orders them.
  (func (export "top_allowed") (param $logits_at i32) (param $blocked_at i32) (param $count i32) (param $threshold f32)
    (param $depth i32) (param $limit i32) (param $keys_at i32) (param $ranked_at i32) (param $values_at i32) (result i32)
    (local $found i32) (local $i i32) (local $j i32) (local $ordered i32) (local $at i32) (local $bound v128)
    (local $value f32) (local $bits i32) (local $key i64) (local $size i32)
    (local $low i32) (local $high i32) (local $pivot i64) (local $a i32) (local $b i32) (local $swap i64) (local $gap i32)
    (local.set $bound (f32x4.splat (local.get $threshold)))
    ;; Blocks of 16: a 16-bit mask of the logits at or above the threshold, then one step per set bit.
    ;; The last block reads into the padding and masks it off.
    (block $scan_done
      (loop $scan
        (br_if $scan_done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $at (i32.add (local.get $logits_at) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $bits
          (i32.or
            (i32.or (i32x4.bitmask (f32x4.ge (v128.load (local.get $at)) (local.get $bound)))
                    (i32.shl (i32x4.bitmask (f32x4.ge (v128.load offset=16 (local.get $at)) (local.get $bound))) (i32.const 4)))
            (i32.or (i32.shl (i32x4.bitmask (f32x4.ge (v128.load offset=32 (local.get $at)) (local.get $bound))) (i32.const 8))
                    (i32.shl (i32x4.bitmask (f32x4.ge (v128.load offset=48 (local.get $at)) (local.get $bound))) (i32.const 12)))))
        (if (i32.lt_u (i32.sub (local.get $count) (local.get $i)) (i32.const 16))
          (then (local.set $bits (i32.and (local.get $bits)
            (i32.sub (i32.shl (i32.const 1) (i32.sub (local.get $count) (local.get $i))) (i32.const 1))))))
        (block $block_done
          (loop $hits
            (br_if $block_done (i32.eqz (local.get $bits)))
            (local.set $j (i32.add (local.get $i) (i32.ctz (local.get $bits))))
            (local.set $bits (i32.and (local.get $bits) (i32.sub (local.get $bits) (i32.const 1))))
            (br_if $hits (i32.load8_u (i32.add (local.get $blocked_at) (local.get $j))))
            ;; + 0 makes -0 into 0: they rank as equals.
            (local.set $value (f32.add (f32.load (i32.add (local.get $logits_at) (i32.shl (local.get $j) (i32.const 2)))) (f32.const 0)))
            (local.set $ordered (i32.reinterpret_f32 (local.get $value)))
            ;; Ordered: negative floats' bits flipped, non-negative ones' sign bit set.
            (local.set $ordered (select (i32.xor (local.get $ordered) (i32.const -1)) (i32.or (local.get $ordered) (i32.const 0x80000000))
              (i32.lt_s (local.get $ordered) (i32.const 0))))
            (i64.store (i32.add (local.get $keys_at) (i32.shl (local.get $found) (i32.const 3)))
              (i64.or (i64.shl (i64.extend_i32_u (local.get $ordered)) (i64.const 32))
                      (i64.extend_i32_u (i32.sub (i32.const -1) (local.get $j)))))
            (local.set $found (i32.add (local.get $found) (i32.const 1)))
            (br $hits)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $scan)))
    (if (i32.gt_u (local.get $found) (local.get $limit)) (then (return (local.get $found))))
    (local.set $size (select (local.get $depth) (local.get $found) (i32.lt_u (local.get $depth) (local.get $found))))
    ;; Quickselect (Hoare partition, middle key as pivot, descending) until keys [0, size) are the best.
    (local.set $low (i32.const 0))
    (local.set $high (i32.sub (local.get $found) (i32.const 1)))
    (block $selected
      (loop $select
        (br_if $selected (i32.or (i32.ge_u (local.get $size) (local.get $found)) (i32.ge_s (local.get $low) (local.get $high))))
        (local.set $pivot (i64.load (i32.add (local.get $keys_at)
          (i32.shl (i32.shr_u (i32.add (local.get $low) (local.get $high)) (i32.const 1)) (i32.const 3)))))
        (local.set $a (i32.sub (local.get $low) (i32.const 1)))
        (local.set $b (i32.add (local.get $high) (i32.const 1)))
        (block $partitioned
          (loop $partition
            (loop $from_left
              (local.set $a (i32.add (local.get $a) (i32.const 1)))
              (br_if $from_left (i64.gt_u (i64.load (i32.add (local.get $keys_at) (i32.shl (local.get $a) (i32.const 3)))) (local.get $pivot))))
            (loop $from_right
              (local.set $b (i32.sub (local.get $b) (i32.const 1)))
              (br_if $from_right (i64.lt_u (i64.load (i32.add (local.get $keys_at) (i32.shl (local.get $b) (i32.const 3)))) (local.get $pivot))))
            (br_if $partitioned (i32.ge_s (local.get $a) (local.get $b)))
            (local.set $swap (i64.load (i32.add (local.get $keys_at) (i32.shl (local.get $a) (i32.const 3)))))
            (i64.store (i32.add (local.get $keys_at) (i32.shl (local.get $a) (i32.const 3)))
              (i64.load (i32.add (local.get $keys_at) (i32.shl (local.get $b) (i32.const 3)))))
            (i64.store (i32.add (local.get $keys_at) (i32.shl (local.get $b) (i32.const 3))) (local.get $swap))
            (br $partition)))
        ;; [low, b] are at or above the pivot, [b + 1, high] at or below: go on in the side holding the cut.
        (if (i32.lt_s (local.get $b) (i32.sub (local.get $size) (i32.const 1)))
          (then (local.set $low (i32.add (local.get $b) (i32.const 1))))
          (else (local.set $high (local.get $b))))
        (br $select)))
    ;; Shell sort of the best `size`, descending (Knuth's gaps 1, 4, 13, ...: a few dozen keys after
    ;; top-k's quickselect, a thousand for a nucleus without top-k); then each key back to its id and value.
    (local.set $gap (i32.const 1))
    (block $gaps_found
      (loop $grow
        (br_if $gaps_found (i32.ge_u (i32.mul (local.get $gap) (i32.const 3)) (local.get $size)))
        (local.set $gap (i32.add (i32.mul (local.get $gap) (i32.const 3)) (i32.const 1)))
        (br $grow)))
    (block $sorted
      (loop $pass
        (local.set $i (local.get $gap))
        (block $pass_done
          (loop $sort
            (br_if $pass_done (i32.ge_s (local.get $i) (local.get $size)))
            (local.set $key (i64.load (i32.add (local.get $keys_at) (i32.shl (local.get $i) (i32.const 3)))))
            (local.set $j (local.get $i))
            (block $placed
              (loop $shift
                (br_if $placed (i32.lt_s (local.get $j) (local.get $gap)))
                (local.set $swap (i64.load (i32.add (local.get $keys_at) (i32.shl (i32.sub (local.get $j) (local.get $gap)) (i32.const 3)))))
                (br_if $placed (i64.ge_u (local.get $swap) (local.get $key)))
                (i64.store (i32.add (local.get $keys_at) (i32.shl (local.get $j) (i32.const 3))) (local.get $swap))
                (local.set $j (i32.sub (local.get $j) (local.get $gap)))
                (br $shift)))
            (i64.store (i32.add (local.get $keys_at) (i32.shl (local.get $j) (i32.const 3))) (local.get $key))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $sort)))
        (br_if $sorted (i32.le_u (local.get $gap) (i32.const 1)))
        (local.set $gap (i32.div_u (local.get $gap) (i32.const 3)))
        (br $pass)))
    (local.set $i (i32.const 0))
    (block $written
      (loop $write
        (br_if $written (i32.ge_u (local.get $i) (local.get $size)))
        (local.set $j (i32.sub (i32.const -1) (i32.wrap_i64 (i64.load (i32.add (local.get $keys_at) (i32.shl (local.get $i) (i32.const 3)))))))
        (i32.store (i32.add (local.get $ranked_at) (i32.shl (local.get $i) (i32.const 2))) (local.get $j))
        (f32.store (i32.add (local.get $values_at) (i32.shl (local.get $i) (i32.const 2)))
          (f32.load (i32.add (local.get $logits_at) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $write)))
    (local.get $found))

  ;; max_of and exp_sum: the log-sum-exp of a sub-word model's row (50,257 logits for GPT-2), which
  ;; scoring a candidate tag needs at each of its tokens after the first: ~0.6 ms a row in
  ;; JavaScript (Math.exp per logit), ~17 % of a completion on a GPT-2-small-sized model; ~0.1 ms here.
  ;; Both read whole steps of 8 logits (count a multiple of 8; the caller pads with -infinity).

  ;; The largest logit of [0, count), NaN ignored as JavaScript's `logit > max` ignores it.
  (func (export "max_of") (param $logits_at i32) (param $count i32) (result f32)
    (local $at i32) (local $end i32) (local $best v128) (local $lanes v128)
    (local.set $best (f32x4.splat (f32.const -inf)))
    (local.set $at (local.get $logits_at))
    (local.set $end (i32.add (local.get $logits_at) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $steps
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $best (f32x4.pmax (f32x4.pmax (local.get $best) (v128.load (local.get $at))) (v128.load offset=16 (local.get $at))))
        (local.set $at (i32.add (local.get $at) (i32.const 32)))
        (br $steps)))
    (local.set $lanes (f32x4.pmax (local.get $best) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $best) (local.get $best))))
    (f32.max (f32x4.extract_lane 0 (local.get $lanes)) (f32x4.extract_lane 1 (local.get $lanes))))

  ;; The sum over [0, count) of exp(x - max) = 2^((x - max) log2(e)), 8 logits a step in two halves
  ;; (a, b). As in exp_sum_allowed, 2^y = 2^n * p(f) with n the nearest integer and |f| <= 1/2, but p
  ;; is the Taylor polynomial of degree 7 (relative error below 1e-8, float32 rounding ~1e-7), y is
  ;; held at -125 or above (a term below 2^-125, which float32 cannot hold, counts 2^-125: nothing
  ;; beside the largest term's 1), and every 4 terms are added into float64 sums. The log-sum-exp is
  ;; within ~2e-7 of JavaScript's, below the float32 rounding of the logits themselves. NaN in, NaN out.
  (func (export "exp_sum") (param $logits_at i32) (param $count i32) (param $max f32) (result f64)
    (local $at i32) (local $end i32) (local $sum v128) (local $terms v128)
    (local $maxv v128) (local $log2e v128) (local $floor v128) (local $magic v128) (local $bias v128)
    (local $y_a v128) (local $shifted_a v128) (local $f_a v128) (local $p_a v128)
    (local $y_b v128) (local $shifted_b v128) (local $f_b v128) (local $p_b v128)
    (local.set $maxv (f32x4.splat (local.get $max)))
    (local.set $log2e (f32x4.splat (f32.const 1.4426950408889634)))
    (local.set $floor (f32x4.splat (f32.const -125)))
    (local.set $magic (f32x4.splat (f32.const 12582912)))
    (local.set $bias (i32x4.splat (i32.const -1262485377)))
    (local.set $at (local.get $logits_at))
    (local.set $end (i32.add (local.get $logits_at) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $steps
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        ;; max(NaN, floor) is NaN in WebAssembly: a NaN logit stays NaN to the sum
        (local.set $y_a (f32x4.max (f32x4.mul (f32x4.sub (v128.load (local.get $at)) (local.get $maxv)) (local.get $log2e)) (local.get $floor)))
        (local.set $y_b (f32x4.max (f32x4.mul (f32x4.sub (v128.load offset=16 (local.get $at)) (local.get $maxv)) (local.get $log2e)) (local.get $floor)))
        (local.set $shifted_a (f32x4.add (local.get $y_a) (local.get $magic)))
        (local.set $shifted_b (f32x4.add (local.get $y_b) (local.get $magic)))
        (local.set $f_a (f32x4.sub (local.get $y_a) (f32x4.sub (local.get $shifted_a) (local.get $magic))))
        (local.set $f_b (f32x4.sub (local.get $y_b) (f32x4.sub (local.get $shifted_b) (local.get $magic))))
        ;; p(f) = 1 + c1 f + ... + c7 f^7, ck = ln(2)^k / k!, by Horner's rule
        (local.set $p_a (f32x4.splat (f32.const 1.5252733804059838e-05)))
        (local.set $p_a (f32x4.add (f32x4.mul (local.get $p_a) (local.get $f_a)) (f32x4.splat (f32.const 0.00015403530393381606))))
        (local.set $p_a (f32x4.add (f32x4.mul (local.get $p_a) (local.get $f_a)) (f32x4.splat (f32.const 0.0013333558146428441))))
        (local.set $p_a (f32x4.add (f32x4.mul (local.get $p_a) (local.get $f_a)) (f32x4.splat (f32.const 0.009618129107628477))))
        (local.set $p_a (f32x4.add (f32x4.mul (local.get $p_a) (local.get $f_a)) (f32x4.splat (f32.const 0.055504108664821576))))
        (local.set $p_a (f32x4.add (f32x4.mul (local.get $p_a) (local.get $f_a)) (f32x4.splat (f32.const 0.2402265069591007))))
        (local.set $p_a (f32x4.add (f32x4.mul (local.get $p_a) (local.get $f_a)) (f32x4.splat (f32.const 0.6931471805599453))))
        (local.set $p_a (f32x4.add (f32x4.mul (local.get $p_a) (local.get $f_a)) (f32x4.splat (f32.const 1.0))))
        (local.set $p_b (f32x4.splat (f32.const 1.5252733804059838e-05)))
        (local.set $p_b (f32x4.add (f32x4.mul (local.get $p_b) (local.get $f_b)) (f32x4.splat (f32.const 0.00015403530393381606))))
        (local.set $p_b (f32x4.add (f32x4.mul (local.get $p_b) (local.get $f_b)) (f32x4.splat (f32.const 0.0013333558146428441))))
        (local.set $p_b (f32x4.add (f32x4.mul (local.get $p_b) (local.get $f_b)) (f32x4.splat (f32.const 0.009618129107628477))))
        (local.set $p_b (f32x4.add (f32x4.mul (local.get $p_b) (local.get $f_b)) (f32x4.splat (f32.const 0.055504108664821576))))
        (local.set $p_b (f32x4.add (f32x4.mul (local.get $p_b) (local.get $f_b)) (f32x4.splat (f32.const 0.2402265069591007))))
        (local.set $p_b (f32x4.add (f32x4.mul (local.get $p_b) (local.get $f_b)) (f32x4.splat (f32.const 0.6931471805599453))))
        (local.set $p_b (f32x4.add (f32x4.mul (local.get $p_b) (local.get $f_b)) (f32x4.splat (f32.const 1.0))))
        ;; times 2^n, whose bits are (n + 127) << 23 with n = bits(shifted) - bits(1.5 * 2^23)
        (local.set $terms (f32x4.add
          (f32x4.mul (local.get $p_a) (i32x4.shl (i32x4.add (local.get $shifted_a) (local.get $bias)) (i32.const 23)))
          (f32x4.mul (local.get $p_b) (i32x4.shl (i32x4.add (local.get $shifted_b) (local.get $bias)) (i32.const 23)))))
        (local.set $sum (f64x2.add (local.get $sum) (f64x2.promote_low_f32x4 (local.get $terms))))
        (local.set $sum (f64x2.add (local.get $sum)
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $terms) (local.get $terms)))))
        (local.set $at (i32.add (local.get $at) (i32.const 32)))
        (br $steps)))
    (f64.add (f64x2.extract_lane 0 (local.get $sum)) (f64x2.extract_lane 1 (local.get $sum))))
)
