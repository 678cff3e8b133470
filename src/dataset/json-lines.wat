;; The converter's fast path for JSONL: validates each line as JSON and reads, without building any
;; JavaScript object, the few fields a txt dataset line needs (id, rating, score, is_deleted and the kept
;; tags of ONE category, from gwern's "tags" array or the API's "tag_string_<category>"), and writes the
;; dataset line (the tags joined by ","). JSON.parse spent most of the converter's time building objects
;; and strings for the ~60 fields of a post that are dropped.
;;
;; The contract with the JavaScript side (json-lines.ts): a line marked FAST is valid JSON (RFC 8259, as
;; strict as JSON.parse) and its fields are what schema.ts's PostAdapter reads from JSON.parse's result.
;; Anything else, or anything unusual, is marked SLOW and converted by the ordinary path (JSON.parse +
;; PostAdapter), which reports the problems: not JSON, wrong types, UTF-8 that is not well-formed, a
;; byte >= 0x80 outside strings or in a rating, "\r", escapes in a field that is read, duplicate keys that are read, numbers other than plain
;; integers where read, tags containing ",", nesting deeper than 1000, and so on.
;;
;; Edit this file, then regenerate src/dataset/json-lines-wasm.ts with
;;   node src/dataset/assemble-wasm.mjs
;; (test/unit/convert-wasm.test.ts fails when they differ).
;;
;; Memory: [0, 64) the names of the fields read, [64, 128) the tag field name ("tag_string_general"),
;; [128, 1152) the nesting stack,
;; then input, output and results areas from a bump allocator. The input area is followed by 8 readable
;; bytes: word loads may read past the last "\n" (such bytes are never used).
;; Result record per line (48 bytes): status i32 @0 (1 FAST, 0 SLOW), line start @4, line end (its "\n")
;; @8, rating @12 (its one character's code, 0: none), deleted @16, tag count @20, output start @24,
;; output length @28 (the "\n" after it not counted), id f64 @32 (NaN: none), score f64 @40 (NaN: none).
(module
  (memory (export "memory") 1)
  (global $heapTop (mut i32) (i32.const 1152))
  (global $inputPtr (mut i32) (i32.const 0))
  (global $inputCap (mut i32) (i32.const 0))
  (global $outputPtr (mut i32) (i32.const 0))
  (global $resultsPtr (mut i32) (i32.const 0))
  (global $fieldLength (mut i32) (i32.const 0))
  (global $keptCategory (mut i32) (i32.const 0))
  ;; where the last scan stopped (after the "\n" of the last line it recorded)
  (global $scanned (mut i32) (i32.const 0))
  ;; set by $string: the string held a backslash escape
  (global $escaped (mut i32) (i32.const 0))
  ;; set by $number: plain integer (no fraction but ".0*", no exponent), digits, value, negative
  (global $integral (mut i32) (i32.const 0))
  (global $zeroFraction (mut i32) (i32.const 0))
  (global $digits (mut i32) (i32.const 0))
  (global $value (mut i64) (i64.const 0))
  (global $negative (mut i32) (i32.const 0))
  ;; the output cursor
  (global $out (mut i32) (i32.const 0))
  (global $tagCount (mut i32) (i32.const 0))

  (func $alloc (param $bytes i32) (result i32)
    (local $ptr i32) (local $pages i32) (local $have i32)
    (local.set $ptr (global.get $heapTop))
    (global.set $heapTop (i32.and (i32.add (i32.add (local.get $ptr) (local.get $bytes)) (i32.const 15)) (i32.const -8)))
    (local.set $pages (i32.shr_u (i32.add (global.get $heapTop) (i32.const 65535)) (i32.const 16)))
    (local.set $have (memory.size))
    (if (i32.gt_u (local.get $pages) (local.get $have))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (local.get $have))) (i32.const -1))
          (then unreachable))))
    (local.get $ptr))

  ;; The tag field's name is at [0, $length); gwern tags of category $category are kept.
  (func (export "configure") (param $length i32) (param $category i32)
    (global.set $fieldLength (local.get $length))
    (global.set $keptCategory (local.get $category)))

  ;; Makes the input area at least $bytes long (8 more readable); returns it. Output and results follow.
  (func (export "input") (param $bytes i32) (result i32)
    (if (i32.gt_u (local.get $bytes) (global.get $inputCap))
      (then
        (global.set $inputCap (local.get $bytes))
        (global.set $inputPtr (call $alloc (i32.add (local.get $bytes) (i32.const 8))))
        ;; a dataset line is never longer than its JSON line: the output fits in as many bytes (+ 8 for word stores)
        (global.set $outputPtr (call $alloc (i32.add (local.get $bytes) (i32.const 16))))
        (global.set $resultsPtr (call $alloc (i32.mul (i32.const 4096) (i32.const 48))))))
    (global.get $inputPtr))

  (func (export "results") (result i32) (global.get $resultsPtr))
  (func (export "scanned") (result i32) (global.get $scanned))

  ;; 0x80 in each zero byte of $x, 0 elsewhere (exact)
  (func $zeroBytes (param $x i64) (result i64)
    (i64.xor (i64.or (i64.or
      (i64.add (i64.and (local.get $x) (i64.const 0x7f7f7f7f7f7f7f7f)) (i64.const 0x7f7f7f7f7f7f7f7f))
      (local.get $x)) (i64.const 0x7f7f7f7f7f7f7f7f)) (i64.const -1)))

  (func $spaces (param $p i32) (result i32)
    (local $c i32)
    (loop $more
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.or (i32.eq (local.get $c) (i32.const 0x20)) (i32.eq (local.get $c) (i32.const 0x09)))
        (then
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $more))))
    (local.get $p))

  (func $hexDigit (param $c i32) (result i32)
    (i32.or
      (i32.lt_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 10))
      (i32.lt_u (i32.sub (i32.or (local.get $c) (i32.const 0x20)) (i32.const 0x61)) (i32.const 6))))

  ;; The length of the well-formed UTF-8 sequence at $p (a byte >= 0x80 starts it), or 0 when it is not
  ;; one: no overlong forms, no surrogates, nothing above U+10FFFF (as Buffer's isUtf8 checks).
  (func $utf8Sequence (param $p i32) (result i32)
    (local $c i32) (local $low i32) (local $high i32) (local $length i32) (local $i i32)
    (local.set $c (i32.load8_u (local.get $p)))
    (local.set $low (i32.const 0x80))
    (local.set $high (i32.const 0xbf))
    (if (i32.lt_u (local.get $c) (i32.const 0xc2)) (then (return (i32.const 0))))
    (if (i32.lt_u (local.get $c) (i32.const 0xe0))
      (then (local.set $length (i32.const 2)))
      (else
        (if (i32.lt_u (local.get $c) (i32.const 0xf0))
          (then
            (local.set $length (i32.const 3))
            (if (i32.eq (local.get $c) (i32.const 0xe0)) (then (local.set $low (i32.const 0xa0))))
            (if (i32.eq (local.get $c) (i32.const 0xed)) (then (local.set $high (i32.const 0x9f)))))
          (else
            (if (i32.ge_u (local.get $c) (i32.const 0xf5)) (then (return (i32.const 0))))
            (local.set $length (i32.const 4))
            (if (i32.eq (local.get $c) (i32.const 0xf0)) (then (local.set $low (i32.const 0x90))))
            (if (i32.eq (local.get $c) (i32.const 0xf4)) (then (local.set $high (i32.const 0x8f))))))))
    ;; the second byte within [$low, $high], the others continuation bytes (never the line's "\n")
    (local.set $c (i32.load8_u offset=1 (local.get $p)))
    (if (i32.or (i32.lt_u (local.get $c) (local.get $low)) (i32.gt_u (local.get $c) (local.get $high))) (then (return (i32.const 0))))
    (local.set $i (i32.const 2))
    (block $done
      (loop $continuation
        (br_if $done (i32.ge_u (local.get $i) (local.get $length)))
        (if (i32.ne (i32.and (i32.load8_u (i32.add (local.get $p) (local.get $i))) (i32.const 0xc0)) (i32.const 0x80)) (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $continuation)))
    (local.get $length))

  ;; $p is just after an opening quote; returns the position after the closing quote, or -1 when the
  ;; string is not valid JSON or not well-formed UTF-8 (then the line goes the ordinary way).
  ;; Eight bytes at a time: stops at '"', '\', a control byte (the line's "\n" too, and DEL, which the
  ;; schema calls one) or a byte >= 0x80.
  (func $string (param $p i32) (result i32)
    (local $w i64) (local $stops i64) (local $c i32)
    (global.set $escaped (i32.const 0))
    (loop $scan
      (local.set $w (i64.load (local.get $p)))
      (local.set $stops (i64.or (i64.or (i64.or
        (call $zeroBytes (i64.xor (local.get $w) (i64.const 0x2222222222222222)))
        (call $zeroBytes (i64.xor (local.get $w) (i64.const 0x5c5c5c5c5c5c5c5c))))
        (call $zeroBytes (i64.xor (local.get $w) (i64.const 0x7f7f7f7f7f7f7f7f))))
        (i64.or
          (call $zeroBytes (i64.and (local.get $w) (i64.const 0xe0e0e0e0e0e0e0e0)))
          (i64.and (local.get $w) (i64.const 0x8080808080808080)))))
      (if (i64.eqz (local.get $stops))
        (then
          (local.set $p (i32.add (local.get $p) (i32.const 8)))
          (br $scan)))
      (local.set $p (i32.add (local.get $p) (i32.wrap_i64 (i64.shr_u (i64.ctz (local.get $stops)) (i64.const 3)))))
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.eq (local.get $c) (i32.const 0x22)) (then (return (i32.add (local.get $p) (i32.const 1)))))
      (if (i32.ge_u (local.get $c) (i32.const 0x80))
        (then
          (local.set $c (call $utf8Sequence (local.get $p)))
          (if (i32.eqz (local.get $c)) (then (return (i32.const -1))))
          (local.set $p (i32.add (local.get $p) (local.get $c)))
          (br $scan)))
      (if (i32.ne (local.get $c) (i32.const 0x5c)) (then (return (i32.const -1))))
      (global.set $escaped (i32.const 1))
      (local.set $c (i32.load8_u offset=1 (local.get $p)))
      (if (i32.eq (local.get $c) (i32.const 0x75))
        (then
          (if (i32.eqz (i32.and (i32.and (call $hexDigit (i32.load8_u offset=2 (local.get $p))) (call $hexDigit (i32.load8_u offset=3 (local.get $p))))
                                (i32.and (call $hexDigit (i32.load8_u offset=4 (local.get $p))) (call $hexDigit (i32.load8_u offset=5 (local.get $p))))))
            (then (return (i32.const -1))))
          (local.set $p (i32.add (local.get $p) (i32.const 6)))
          (br $scan)))
      ;; " \ / b f n r t
      (if (i32.or (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x22)) (i32.eq (local.get $c) (i32.const 0x5c)))
                          (i32.or (i32.eq (local.get $c) (i32.const 0x2f)) (i32.eq (local.get $c) (i32.const 0x62))))
                  (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x66)) (i32.eq (local.get $c) (i32.const 0x6e)))
                          (i32.or (i32.eq (local.get $c) (i32.const 0x72)) (i32.eq (local.get $c) (i32.const 0x74)))))
        (then
          (local.set $p (i32.add (local.get $p) (i32.const 2)))
          (br $scan)))
      (return (i32.const -1)))
    (unreachable))

  ;; A JSON number at $p: returns the position after it, or -1. Sets $integral (digits only, or digits
  ;; then "." and zeros only, no exponent), $zeroFraction (there was such a ".0*"), $digits, $value
  ;; (the integer part, exact up to 18 digits) and $negative.
  (func $number (param $p i32) (result i32)
    (local $c i32) (local $start i32)
    (global.set $negative (i32.const 0))
    (global.set $integral (i32.const 1))
    (global.set $zeroFraction (i32.const 0))
    (global.set $value (i64.const 0))
    (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x2d))
      (then
        (global.set $negative (i32.const 1))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))))
    (local.set $start (local.get $p))
    (local.set $c (i32.load8_u (local.get $p)))
    (if (i32.eq (local.get $c) (i32.const 0x30))
      (then (local.set $p (i32.add (local.get $p) (i32.const 1))))
      (else
        (if (i32.ge_u (i32.sub (local.get $c) (i32.const 0x31)) (i32.const 9)) (then (return (i32.const -1))))
        (loop $int
          (global.set $value (i64.add (i64.mul (global.get $value) (i64.const 10)) (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 0x30)))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $c (i32.load8_u (local.get $p)))
          (br_if $int (i32.lt_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 10))))))
    (global.set $digits (i32.sub (local.get $p) (local.get $start)))
    (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x2e))
      (then
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $c (i32.load8_u (local.get $p)))
        (if (i32.ge_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 10)) (then (return (i32.const -1))))
        (global.set $zeroFraction (i32.const 1))
        (loop $fraction
          (if (i32.ne (local.get $c) (i32.const 0x30)) (then (global.set $integral (i32.const 0))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $c (i32.load8_u (local.get $p)))
          (br_if $fraction (i32.lt_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 10))))))
    (local.set $c (i32.or (i32.load8_u (local.get $p)) (i32.const 0x20)))
    (if (i32.eq (local.get $c) (i32.const 0x65))
      (then
        (global.set $integral (i32.const 0))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $c (i32.load8_u (local.get $p)))
        (if (i32.or (i32.eq (local.get $c) (i32.const 0x2b)) (i32.eq (local.get $c) (i32.const 0x2d)))
          (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
        (if (i32.ge_u (i32.sub (i32.load8_u (local.get $p)) (i32.const 0x30)) (i32.const 10)) (then (return (i32.const -1))))
        (loop $exponent
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br_if $exponent (i32.lt_u (i32.sub (i32.load8_u (local.get $p)) (i32.const 0x30)) (i32.const 10))))))
    (local.get $p))

  ;; true, false or null at $p: the position after it, or -1
  (func $literal (param $p i32) (result i32)
    (local $word i32)
    (local.set $word (i32.load (local.get $p)))
    (if (i32.eq (local.get $word) (i32.const 0x65757274)) (then (return (i32.add (local.get $p) (i32.const 4))))) ;; "true"
    (if (i32.eq (local.get $word) (i32.const 0x6c6c756e)) (then (return (i32.add (local.get $p) (i32.const 4))))) ;; "null"
    (if (i32.and (i32.eq (local.get $word) (i32.const 0x736c6166)) (i32.eq (i32.load8_u offset=4 (local.get $p)) (i32.const 0x65)))
      (then (return (i32.add (local.get $p) (i32.const 5))))) ;; "false"
    (i32.const -1))


  ;; A string, number or literal at $p: the position after it, or -1.
  (func $scalar (param $p i32) (result i32)
    (local $c i32)
    (local.set $c (i32.load8_u (local.get $p)))
    (if (i32.eq (local.get $c) (i32.const 0x22)) (then (return (call $string (i32.add (local.get $p) (i32.const 1))))))
    (if (i32.or (i32.eq (local.get $c) (i32.const 0x2d)) (i32.lt_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 10)))
      (then (return (call $number (local.get $p)))))
    (call $literal (local.get $p)))

  ;; An object key at $p (its opening quote), then ":": the position of the value after it, or -1.
  (func $key (param $p i32) (result i32)
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x22)) (then (return (i32.const -1))))
    (local.set $p (call $string (i32.add (local.get $p) (i32.const 1))))
    (if (i32.lt_s (local.get $p) (i32.const 0)) (then (return (i32.const -1))))
    (local.set $p (call $spaces (local.get $p)))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x3a)) (then (return (i32.const -1))))
    (call $spaces (i32.add (local.get $p) (i32.const 1))))

  ;; Any JSON value at $p: the position after it, or -1. Containers use an explicit stack of their
  ;; opening bytes at [128 + depth]; "}" is "{" + 2 and "]" is "[" + 2.
  (func $value (param $p i32) (result i32)
    (local $c i32) (local $depth i32) (local $top i32) (local $after i32)
    (block $fail
      (loop $step
        (if (local.get $after)
          (then
            ;; after a value: done at depth 0, else "," and the next member, or the close of $top
            (if (i32.eqz (local.get $depth)) (then (return (local.get $p))))
            (local.set $p (call $spaces (local.get $p)))
            (local.set $c (i32.load8_u (local.get $p)))
            (if (i32.eq (local.get $c) (i32.const 0x2c))
              (then
                (local.set $p (call $spaces (i32.add (local.get $p) (i32.const 1))))
                (if (i32.eq (local.get $top) (i32.const 0x7b))
                  (then
                    (local.set $p (call $key (local.get $p)))
                    (br_if $fail (i32.lt_s (local.get $p) (i32.const 0)))))
                (local.set $after (i32.const 0))
                (br $step)))
            (br_if $fail (i32.ne (local.get $c) (i32.add (local.get $top) (i32.const 2))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
            (if (local.get $depth) (then (local.set $top (i32.load8_u offset=127 (local.get $depth)))))
            (br $step)))
        ;; a value at $p
        (local.set $c (i32.load8_u (local.get $p)))
        (if (i32.or (i32.eq (local.get $c) (i32.const 0x7b)) (i32.eq (local.get $c) (i32.const 0x5b)))
          (then
            (br_if $fail (i32.ge_u (local.get $depth) (i32.const 1000)))
            (i32.store8 offset=128 (local.get $depth) (local.get $c))
            (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
            (local.set $top (local.get $c))
            (local.set $p (call $spaces (i32.add (local.get $p) (i32.const 1))))
            (if (i32.eq (i32.load8_u (local.get $p)) (i32.add (local.get $top) (i32.const 2)))
              (then
                ;; empty
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
                (if (local.get $depth) (then (local.set $top (i32.load8_u offset=127 (local.get $depth)))))
                (local.set $after (i32.const 1))
                (br $step)))
            (if (i32.eq (local.get $top) (i32.const 0x7b))
              (then
                (local.set $p (call $key (local.get $p)))
                (br_if $fail (i32.lt_s (local.get $p) (i32.const 0)))))
            (br $step)))
        (local.set $p (call $scalar (local.get $p)))
        (br_if $fail (i32.lt_s (local.get $p) (i32.const 0)))
        (local.set $after (i32.const 1))
        (br $step)))
    (i32.const -1))

  (func $equalBytes (param $a i32) (param $b i32) (param $n i32) (result i32)
    (local $i i32) (local $rest i32)
    (block $done
      (loop $words
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $n)))
        (if (i64.ne (i64.load (i32.add (local.get $a) (local.get $i))) (i64.load (i32.add (local.get $b) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $words)))
    (local.set $rest (i32.sub (local.get $n) (local.get $i)))
    (if (i32.eqz (local.get $rest)) (then (return (i32.const 1))))
    (i64.eqz (i64.and
      (i64.xor (i64.load (i32.add (local.get $a) (local.get $i))) (i64.load (i32.add (local.get $b) (local.get $i))))
      (i64.sub (i64.shl (i64.const 1) (i64.extend_i32_u (i32.shl (local.get $rest) (i32.const 3)))) (i64.const 1)))))

  ;; Which read field the key [$k, $k + $n) is: 0 none, 1 id, 2 rating, 3 score, 4 is_deleted, 5 tags,
  ;; 6 the tag field. The names are in the data segment (a word each, is_deleted two).
  (func $field (param $k i32) (param $n i32) (result i32)
    (if (i32.eq (local.get $n) (global.get $fieldLength))
      (then (if (call $equalBytes (local.get $k) (i32.const 64) (local.get $n)) (then (return (i32.const 6))))))
    (if (i32.eq (local.get $n) (i32.const 2)) (then (return (i32.mul (i32.const 1) (call $equalBytes (local.get $k) (i32.const 0) (i32.const 2))))))
    (if (i32.eq (local.get $n) (i32.const 6)) (then (return (i32.mul (i32.const 2) (call $equalBytes (local.get $k) (i32.const 8) (i32.const 6))))))
    (if (i32.eq (local.get $n) (i32.const 5)) (then (return (i32.mul (i32.const 3) (call $equalBytes (local.get $k) (i32.const 16) (i32.const 5))))))
    (if (i32.eq (local.get $n) (i32.const 10)) (then (return (i32.mul (i32.const 4) (call $equalBytes (local.get $k) (i32.const 24) (i32.const 10))))))
    (if (i32.eq (local.get $n) (i32.const 4)) (then (return (i32.mul (i32.const 5) (call $equalBytes (local.get $k) (i32.const 40) (i32.const 4))))))
    (i32.const 0))
  (data (i32.const 0) "id\00\00\00\00\00\00rating\00\00score\00\00\00is_deleted\00\00\00\00\00\00tags\00\00\00\00name\00\00\00\00category")

  ;; Digits (at least one, at most 15) from $p to $end: sets $value; 0 when that is not what is there.
  (func $digitsTo (param $p i32) (param $end i32) (result i32)
    (local $c i32)
    (if (i32.or (i32.ge_u (local.get $p) (local.get $end)) (i32.gt_u (i32.sub (local.get $end) (local.get $p)) (i32.const 15)))
      (then (return (i32.const 0))))
    (global.set $value (i64.const 0))
    (loop $each
      (local.set $c (i32.sub (i32.load8_u (local.get $p)) (i32.const 0x30)))
      (if (i32.ge_u (local.get $c) (i32.const 10)) (then (return (i32.const 0))))
      (global.set $value (i64.add (i64.mul (global.get $value) (i64.const 10)) (i64.extend_i32_u (local.get $c))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $p) (local.get $end))))
    (i32.const 1))

  ;; "id": a whole number >= 0, or a string of digits with an optional "." and zeros (PostAdapter's
  ;; /^\d+(\.0*)?$/), or null. Stores it at $r + 32; returns the position after it, or -1.
  (func $id (param $p i32) (param $r i32) (result i32)
    (local $c i32) (local $next i32) (local $end i32) (local $dot i32)
    (local.set $c (i32.load8_u (local.get $p)))
    (if (i32.eq (local.get $c) (i32.const 0x6e))
      (then (return (select (i32.add (local.get $p) (i32.const 4)) (i32.const -1) (i32.eq (i32.load (local.get $p)) (i32.const 0x6c6c756e))))))
    (if (i32.eq (local.get $c) (i32.const 0x22))
      (then
        (local.set $next (call $string (i32.add (local.get $p) (i32.const 1))))
        (if (i32.or (i32.lt_s (local.get $next) (i32.const 0)) (global.get $escaped)) (then (return (i32.const -1))))
        (local.set $end (i32.sub (local.get $next) (i32.const 1)))
        ;; the digits end at a "." followed by zeros only
        (local.set $dot (i32.add (local.get $p) (i32.const 1)))
        (block $found
          (loop $seek
            (br_if $found (i32.ge_u (local.get $dot) (local.get $end)))
            (br_if $found (i32.eq (i32.load8_u (local.get $dot)) (i32.const 0x2e)))
            (local.set $dot (i32.add (local.get $dot) (i32.const 1)))
            (br $seek)))
        (if (i32.lt_u (local.get $dot) (local.get $end))
          (then
            (local.set $c (i32.add (local.get $dot) (i32.const 1)))
            (block $zeros
              (loop $zero
                (br_if $zeros (i32.ge_u (local.get $c) (local.get $end)))
                (if (i32.ne (i32.load8_u (local.get $c)) (i32.const 0x30)) (then (return (i32.const -1))))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (br $zero)))))
        (if (i32.eqz (call $digitsTo (i32.add (local.get $p) (i32.const 1)) (local.get $dot))) (then (return (i32.const -1))))
        (f64.store offset=32 (local.get $r) (f64.convert_i64_u (global.get $value)))
        (return (local.get $next))))
    (if (i32.ge_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 10)) (then (return (i32.const -1))))
    (local.set $next (call $number (local.get $p)))
    (if (i32.or (i32.lt_s (local.get $next) (i32.const 0)) (i32.or (i32.eqz (global.get $integral)) (i32.gt_u (global.get $digits) (i32.const 15))))
      (then (return (i32.const -1))))
    (f64.store offset=32 (local.get $r) (f64.convert_i64_u (global.get $value)))
    (local.get $next))

  ;; "score": a whole number, a string of an optional "-" and digits, or null. Stores it at $r + 40.
  (func $score (param $p i32) (param $r i32) (result i32)
    (local $c i32) (local $next i32) (local $start i32) (local $negative i32)
    (local.set $c (i32.load8_u (local.get $p)))
    (if (i32.eq (local.get $c) (i32.const 0x6e))
      (then (return (select (i32.add (local.get $p) (i32.const 4)) (i32.const -1) (i32.eq (i32.load (local.get $p)) (i32.const 0x6c6c756e))))))
    (if (i32.eq (local.get $c) (i32.const 0x22))
      (then
        (local.set $next (call $string (i32.add (local.get $p) (i32.const 1))))
        (if (i32.or (i32.lt_s (local.get $next) (i32.const 0)) (global.get $escaped)) (then (return (i32.const -1))))
        (local.set $start (i32.add (local.get $p) (i32.const 1)))
        (if (i32.eq (i32.load8_u (local.get $start)) (i32.const 0x2d))
          (then
            (local.set $negative (i32.const 1))
            (local.set $start (i32.add (local.get $start) (i32.const 1)))))
        (if (i32.eqz (call $digitsTo (local.get $start) (i32.sub (local.get $next) (i32.const 1)))) (then (return (i32.const -1))))
        (global.set $negative (local.get $negative)))
      (else
        (if (i32.and (i32.ne (local.get $c) (i32.const 0x2d)) (i32.ge_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 10)))
          (then (return (i32.const -1))))
        (local.set $next (call $number (local.get $p)))
        (if (i32.or (i32.lt_s (local.get $next) (i32.const 0)) (i32.or (i32.eqz (global.get $integral)) (i32.gt_u (global.get $digits) (i32.const 15))))
          (then (return (i32.const -1))))))
    (f64.store offset=40 (local.get $r)
      (select (f64.neg (f64.convert_i64_u (global.get $value))) (f64.convert_i64_u (global.get $value)) (global.get $negative)))
    (local.get $next))

  ;; "rating": a one-character string without escapes (its code at $r + 12), or null.
  (func $rating (param $p i32) (param $r i32) (result i32)
    (local $c i32)
    (local.set $c (i32.load8_u (local.get $p)))
    (if (i32.eq (local.get $c) (i32.const 0x6e))
      (then (return (select (i32.add (local.get $p) (i32.const 4)) (i32.const -1) (i32.eq (i32.load (local.get $p)) (i32.const 0x6c6c756e))))))
    (if (i32.ne (local.get $c) (i32.const 0x22)) (then (return (i32.const -1))))
    (local.set $c (i32.load8_u offset=1 (local.get $p)))
    ;; one character, not a quote, a backslash, a control byte or >= 0x80, then the closing quote
    (if (i32.or (i32.or (i32.lt_u (local.get $c) (i32.const 0x20)) (i32.ge_u (local.get $c) (i32.const 0x80)))
                (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x22)) (i32.eq (local.get $c) (i32.const 0x5c)))
                        (i32.ne (i32.load8_u offset=2 (local.get $p)) (i32.const 0x22))))
      (then (return (i32.const -1))))
    (i32.store offset=12 (local.get $r) (local.get $c))
    (i32.add (local.get $p) (i32.const 3)))

  ;; "is_deleted": true, false, null, 0, 1, "true" or "false" (PostAdapter's readBoolean). At $r + 16.
  (func $deleted (param $p i32) (param $r i32) (result i32)
    (local $c i32) (local $next i32)
    (local.set $c (i32.load8_u (local.get $p)))
    (if (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x74)) (i32.eq (local.get $c) (i32.const 0x66))) (i32.eq (local.get $c) (i32.const 0x6e)))
      (then
        (i32.store offset=16 (local.get $r) (i32.eq (local.get $c) (i32.const 0x74)))
        (return (call $literal (local.get $p)))))
    (if (i32.eq (local.get $c) (i32.const 0x22))
      (then
        ;; "true" and "false" with their quotes
        (if (i32.and (i32.eq (i32.load offset=1 (local.get $p)) (i32.const 0x65757274)) (i32.eq (i32.load8_u offset=5 (local.get $p)) (i32.const 0x22)))
          (then
            (i32.store offset=16 (local.get $r) (i32.const 1))
            (return (i32.add (local.get $p) (i32.const 6)))))
        (if (i32.and (i32.eq (i32.load offset=1 (local.get $p)) (i32.const 0x736c6166))
                     (i32.eq (i32.load16_u offset=5 (local.get $p)) (i32.const 0x2265)))
          (then (return (i32.add (local.get $p) (i32.const 7)))))
        (return (i32.const -1))))
    (local.set $next (call $number (local.get $p)))
    (if (i32.or (i32.lt_s (local.get $next) (i32.const 0)) (i32.or (i32.eqz (global.get $integral)) (i32.ne (global.get $digits) (i32.const 1))))
      (then (return (i32.const -1))))
    (if (i64.eqz (global.get $value)) (then (return (local.get $next))))
    (if (i32.and (i64.eq (global.get $value) (i64.const 1)) (i32.eqz (global.get $negative)))
      (then
        (i32.store offset=16 (local.get $r) (i32.const 1))
        (return (local.get $next))))
    (i32.const -1))

  ;; Appends a tag ([$s, $s + $n), no escapes) to the output line; 0 when it holds "," (a line with such
  ;; a tag could not be split back into its tags).
  (func $appendTag (param $s i32) (param $n i32) (result i32)
    (local $i i32) (local $w i64) (local $commas i64)
    (if (global.get $tagCount)
      (then
        (i32.store8 (global.get $out) (i32.const 0x2c))
        (global.set $out (i32.add (global.get $out) (i32.const 1)))))
    (block $done
      (loop $words
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $w (i64.load (i32.add (local.get $s) (local.get $i))))
        (i64.store (i32.add (global.get $out) (local.get $i)) (local.get $w))
        (local.set $commas (call $zeroBytes (i64.xor (local.get $w) (i64.const 0x2c2c2c2c2c2c2c2c))))
        (if (i32.lt_u (i32.sub (local.get $n) (local.get $i)) (i32.const 8))
          (then (local.set $commas (i64.and (local.get $commas)
            (i64.sub (i64.shl (i64.const 1) (i64.extend_i32_u (i32.shl (i32.sub (local.get $n) (local.get $i)) (i32.const 3)))) (i64.const 1))))))
        (if (i64.ne (local.get $commas) (i64.const 0)) (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $words)))
    (global.set $out (i32.add (global.get $out) (local.get $n)))
    (global.set $tagCount (i32.add (global.get $tagCount) (i32.const 1)))
    (i32.const 1))

  ;; The API tag string [$s, $s + $n): split at spaces, empty pieces dropped (PostAdapter's splitTagString).
  (func $apiTags (param $s i32) (param $n i32) (result i32)
    (local $end i32) (local $start i32)
    (local.set $end (i32.add (local.get $s) (local.get $n)))
    (block $done
      (loop $tags
        ;; skip spaces, then take the tag up to the next space
        (block $skipped
          (loop $space
            (br_if $done (i32.ge_u (local.get $s) (local.get $end)))
            (br_if $skipped (i32.ne (i32.load8_u (local.get $s)) (i32.const 0x20)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (br $space)))
        (local.set $start (local.get $s))
        (block $tagEnd
          (loop $byte
            (br_if $tagEnd (i32.ge_u (local.get $s) (local.get $end)))
            (br_if $tagEnd (i32.eq (i32.load8_u (local.get $s)) (i32.const 0x20)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (br $byte)))
        (if (i32.eqz (call $appendTag (local.get $start) (i32.sub (local.get $s) (local.get $start)))) (then (return (i32.const 0))))
        (br $tags)))
    (i32.const 1))

  ;; gwern's "tags": an array of objects, each with a non-empty "name" string (no escapes) and a
  ;; "category" that is a one-digit string or number; other keys any JSON. Appends the names of the kept
  ;; category. The position after the array, or -1.
  (func $gwernTags (param $p i32) (result i32)
    (local $c i32) (local $k i32) (local $n i32) (local $name i32) (local $nameLength i32) (local $category i32)
    (local.set $p (call $spaces (i32.add (local.get $p) (i32.const 1))))
    (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x5d)) (then (return (i32.add (local.get $p) (i32.const 1)))))
    (loop $element
      (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x7b)) (then (return (i32.const -1))))
      (local.set $p (call $spaces (i32.add (local.get $p) (i32.const 1))))
      (local.set $name (i32.const -1))
      (local.set $category (i32.const -1))
      (loop $member
        (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x22)) (then (return (i32.const -1))))
        (local.set $k (i32.add (local.get $p) (i32.const 1)))
        (local.set $p (call $string (local.get $k)))
        (if (i32.or (i32.lt_s (local.get $p) (i32.const 0)) (global.get $escaped)) (then (return (i32.const -1))))
        (local.set $n (i32.sub (i32.sub (local.get $p) (i32.const 1)) (local.get $k)))
        (local.set $p (call $spaces (local.get $p)))
        (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x3a)) (then (return (i32.const -1))))
        (local.set $p (call $spaces (i32.add (local.get $p) (i32.const 1))))
        (local.set $c (i32.load8_u (local.get $p)))
        (if (i32.and (i32.eq (local.get $n) (i32.const 4)) (call $equalBytes (local.get $k) (i32.const 48) (i32.const 4)))
          (then
            (if (i32.or (i32.ge_s (local.get $name) (i32.const 0)) (i32.ne (local.get $c) (i32.const 0x22))) (then (return (i32.const -1))))
            (local.set $name (i32.add (local.get $p) (i32.const 1)))
            (local.set $p (call $string (local.get $name)))
            (if (i32.or (i32.lt_s (local.get $p) (i32.const 0)) (global.get $escaped)) (then (return (i32.const -1))))
            (local.set $nameLength (i32.sub (i32.sub (local.get $p) (i32.const 1)) (local.get $name)))
            (if (i32.eqz (local.get $nameLength)) (then (return (i32.const -1)))))
          (else
            (if (i32.and (i32.eq (local.get $n) (i32.const 8)) (call $equalBytes (local.get $k) (i32.const 56) (i32.const 8)))
              (then
                (if (i32.ge_s (local.get $category) (i32.const 0)) (then (return (i32.const -1))))
                (if (i32.eq (local.get $c) (i32.const 0x22))
                  (then
                    (local.set $category (i32.sub (i32.load8_u offset=1 (local.get $p)) (i32.const 0x30)))
                    (if (i32.or (i32.ge_u (local.get $category) (i32.const 10)) (i32.ne (i32.load8_u offset=2 (local.get $p)) (i32.const 0x22)))
                      (then (return (i32.const -1))))
                    (local.set $p (i32.add (local.get $p) (i32.const 3))))
                  (else
                    (if (i32.ge_u (i32.sub (local.get $c) (i32.const 0x30)) (i32.const 10)) (then (return (i32.const -1))))
                    (local.set $p (call $number (local.get $p)))
                    (if (i32.or (i32.lt_s (local.get $p) (i32.const 0))
                                (i32.or (i32.eqz (global.get $integral)) (i32.or (global.get $zeroFraction) (i32.ne (global.get $digits) (i32.const 1)))))
                      (then (return (i32.const -1))))
                    (local.set $category (i32.wrap_i64 (global.get $value))))))
              (else
                (local.set $p (call $value (local.get $p)))
                (if (i32.lt_s (local.get $p) (i32.const 0)) (then (return (i32.const -1))))))))
        (local.set $p (call $spaces (local.get $p)))
        (local.set $c (i32.load8_u (local.get $p)))
        (if (i32.eq (local.get $c) (i32.const 0x2c))
          (then
            (local.set $p (call $spaces (i32.add (local.get $p) (i32.const 1))))
            (br $member)))
        (if (i32.ne (local.get $c) (i32.const 0x7d)) (then (return (i32.const -1)))))
      (if (i32.or (i32.lt_s (local.get $name) (i32.const 0)) (i32.lt_s (local.get $category) (i32.const 0))) (then (return (i32.const -1))))
      (if (i32.eq (local.get $category) (global.get $keptCategory))
        (then (if (i32.eqz (call $appendTag (local.get $name) (local.get $nameLength))) (then (return (i32.const -1))))))
      (local.set $p (call $spaces (i32.add (local.get $p) (i32.const 1))))
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.eq (local.get $c) (i32.const 0x2c))
        (then
          (local.set $p (call $spaces (i32.add (local.get $p) (i32.const 1))))
          (br $element)))
      (if (i32.ne (local.get $c) (i32.const 0x5d)) (then (return (i32.const -1)))))
    (i32.add (local.get $p) (i32.const 1)))

  ;; One line from $p: 1 (FAST, the record at $r filled, $lineEnd set) or 0 (SLOW).
  (global $lineEnd (mut i32) (i32.const 0))
  (func $line (param $p i32) (param $r i32) (result i32)
    (local $c i32) (local $k i32) (local $n i32) (local $which i32) (local $seen i32) (local $field i32) (local $fieldLength i32)
    (i32.store offset=12 (local.get $r) (i32.const 0))
    (i32.store offset=16 (local.get $r) (i32.const 0))
    (f64.store offset=32 (local.get $r) (f64.const nan))
    (f64.store offset=40 (local.get $r) (f64.const nan))
    (local.set $p (call $spaces (local.get $p)))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x7b)) (then (return (i32.const 0))))
    (local.set $p (call $spaces (i32.add (local.get $p) (i32.const 1))))
    (loop $member
      (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x22)) (then (return (i32.const 0))))
      (local.set $k (i32.add (local.get $p) (i32.const 1)))
      (local.set $p (call $string (local.get $k)))
      (if (i32.or (i32.lt_s (local.get $p) (i32.const 0)) (global.get $escaped)) (then (return (i32.const 0))))
      (local.set $n (i32.sub (i32.sub (local.get $p) (i32.const 1)) (local.get $k)))
      (local.set $p (call $spaces (local.get $p)))
      (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x3a)) (then (return (i32.const 0))))
      (local.set $p (call $spaces (i32.add (local.get $p) (i32.const 1))))
      (local.set $which (call $field (local.get $k) (local.get $n)))
      (if (local.get $which)
        (then
          ;; a read field seen twice: JSON.parse keeps the last, the ordinary path sorts that out
          (if (i32.and (local.get $seen) (i32.shl (i32.const 1) (local.get $which))) (then (return (i32.const 0))))
          (local.set $seen (i32.or (local.get $seen) (i32.shl (i32.const 1) (local.get $which))))))
      (block $read
        (block $tagField
          (block $tags
            (block $deleted
              (block $score
                (block $rating
                  (block $id
                    (block $other
                      (br_table $other $id $rating $score $deleted $tags $tagField (local.get $which)))
                    (local.set $p (call $value (local.get $p)))
                    (br $read))
                  (local.set $p (call $id (local.get $p) (local.get $r)))
                  (br $read))
                (local.set $p (call $rating (local.get $p) (local.get $r)))
                (br $read))
              (local.set $p (call $score (local.get $p) (local.get $r)))
              (br $read))
            (local.set $p (call $deleted (local.get $p) (local.get $r)))
            (br $read))
          (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x5b)) (then (return (i32.const 0))))
          (local.set $p (call $gwernTags (local.get $p)))
          (br $read))
        (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x22)) (then (return (i32.const 0))))
        (local.set $field (i32.add (local.get $p) (i32.const 1)))
        (local.set $p (call $string (local.get $field)))
        (if (global.get $escaped) (then (return (i32.const 0))))
        (local.set $fieldLength (i32.sub (i32.sub (local.get $p) (i32.const 1)) (local.get $field))))
      (if (i32.lt_s (local.get $p) (i32.const 0)) (then (return (i32.const 0))))
      (local.set $p (call $spaces (local.get $p)))
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.eq (local.get $c) (i32.const 0x2c))
        (then
          (local.set $p (call $spaces (i32.add (local.get $p) (i32.const 1))))
          (br $member)))
      (if (i32.ne (local.get $c) (i32.const 0x7d)) (then (return (i32.const 0)))))
    (local.set $p (call $spaces (i32.add (local.get $p) (i32.const 1))))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x0a)) (then (return (i32.const 0))))
    (global.set $lineEnd (local.get $p))
    ;; gwern's array wins over the API fields (as in PostAdapter); neither: the ordinary path reports it
    (if (i32.and (local.get $seen) (i32.const 32)) (then (return (i32.const 1))))
    (if (i32.and (local.get $seen) (i32.const 64)) (then (return (call $apiTags (local.get $field) (local.get $fieldLength)))))
    (i32.const 0))

  ;; The position of the next "\n" from $p (there is one before the block's end).
  (func $newline (param $p i32) (result i32)
    (local $stops i64)
    (loop $scan
      (local.set $stops (call $zeroBytes (i64.xor (i64.load (local.get $p)) (i64.const 0x0a0a0a0a0a0a0a0a))))
      (if (i64.eqz (local.get $stops))
        (then
          (local.set $p (i32.add (local.get $p) (i32.const 8)))
          (br $scan))))
    (i32.add (local.get $p) (i32.wrap_i64 (i64.shr_u (i64.ctz (local.get $stops)) (i64.const 3)))))

  ;; Reads the lines of [$from, $end) (each ending in "\n") into result records, at most 4096 (see
  ;; "scanned" for where it stopped); returns how many.
  (func (export "scan") (param $from i32) (param $end i32) (result i32)
    (local $p i32) (local $r i32) (local $lines i32) (local $start i32)
    (local.set $p (local.get $from))
    (local.set $r (global.get $resultsPtr))
    (global.set $out (global.get $outputPtr))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (br_if $done (i32.ge_u (local.get $lines) (i32.const 4096)))
        (local.set $start (global.get $out))
        (global.set $tagCount (i32.const 0))
        (i32.store offset=4 (local.get $r) (local.get $p))
        (if (call $line (local.get $p) (local.get $r))
          (then
            (i32.store (local.get $r) (i32.const 1))
            (i32.store offset=8 (local.get $r) (global.get $lineEnd))
            (i32.store offset=20 (local.get $r) (global.get $tagCount))
            (i32.store offset=24 (local.get $r) (local.get $start))
            (i32.store offset=28 (local.get $r) (i32.sub (global.get $out) (local.get $start)))
            (i32.store8 (global.get $out) (i32.const 0x0a))
            (global.set $out (i32.add (global.get $out) (i32.const 1))))
          (else
            (i32.store (local.get $r) (i32.const 0))
            (global.set $out (local.get $start))
            (i32.store offset=8 (local.get $r) (call $newline (local.get $p)))))
        (local.set $p (i32.add (i32.load offset=8 (local.get $r)) (i32.const 1)))
        (local.set $r (i32.add (local.get $r) (i32.const 48)))
        (local.set $lines (i32.add (local.get $lines) (i32.const 1)))
        (br $each)))
    (global.set $scanned (local.get $p))
    (local.get $lines))
)
