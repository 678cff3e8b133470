;; The tag-count table of the converter: UTF-8 tag names -> counts, in an open-addressing hash table
;; in this module's linear memory. Counting is on the converter's hot path (every tag written, ~10 per
;; KB of metadata); in JavaScript each count costs a string hash and two property lookups, here a whole
;; dataset line is counted in one call, 8 bytes at a time.
;;
;; Edit this file, then regenerate src/dataset/tag-table-wasm.ts with
;;   node src/dataset/assemble-wasm.mjs
;; (test/unit/convert-wasm.test.ts fails when the two differ). The JavaScript side is tag-table.ts.
;;
;; Memory: a bump allocator over the linear memory (nothing is freed; a table that grows moves to new
;; memory, which starts zeroed). Word loads may read up to 7 bytes past a key or the input, so the
;; allocator keeps 8 readable bytes beyond its top; those bytes are masked off before any use.
;; Entry (24 bytes): hash i32 @0, key pointer i32 @4, key length i32 @8, count f64 @16.
;; A slot (i32) holds an entry's index + 1, 0 when free. Hash: multiply-xor over little-endian 8-byte
;; words (the last one masked to the key's length), then the length; its high 32 bits pick the slot.
(module
  (memory (export "memory") 1)
  (global $heapTop (mut i32) (i32.const 64))
  (global $inputPtr (mut i32) (i32.const 0))
  (global $inputCap (mut i32) (i32.const 0))
  (global $slots (mut i32) (i32.const 0))
  (global $slotMask (mut i32) (i32.const 0))
  (global $entries (mut i32) (i32.const 0))
  (global $entryCap (mut i32) (i32.const 0))
  (global $size (mut i32) (i32.const 0))
  ;; where $find saw the free slot when the key is absent
  (global $freeSlot (mut i32) (i32.const 0))

  (func $alloc (param $bytes i32) (result i32)
    (local $ptr i32) (local $pages i32) (local $have i32)
    (local.set $ptr (global.get $heapTop))
    (global.set $heapTop (i32.and (i32.add (i32.add (local.get $ptr) (local.get $bytes)) (i32.const 7)) (i32.const -8)))
    ;; pages for the top + 8 readable bytes
    (local.set $pages (i32.shr_u (i32.add (global.get $heapTop) (i32.const 65543)) (i32.const 16)))
    (local.set $have (memory.size))
    (if (i32.gt_u (local.get $pages) (local.get $have))
      (then
        ;; at least double, so that JavaScript rebuilds its views of the memory rarely
        (if (i32.lt_u (local.get $pages) (i32.shl (local.get $have) (i32.const 1)))
          (then (local.set $pages (i32.shl (local.get $have) (i32.const 1)))))
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (local.get $have))) (i32.const -1))
          (then unreachable))))
    (local.get $ptr))

  (func $init
    (global.set $inputCap (i32.const 65536))
    (global.set $inputPtr (call $alloc (i32.const 65536)))
    (global.set $slotMask (i32.const 4095))
    (global.set $slots (call $alloc (i32.const 16384)))
    (global.set $entryCap (i32.const 2048))
    (global.set $entries (call $alloc (i32.const 49152))))
  (start $init)

  ;; The input area, where JavaScript writes a line or a tag: at least $bytes long (moved when too small).
  (func (export "input") (param $bytes i32) (result i32)
    (if (i32.gt_u (local.get $bytes) (global.get $inputCap))
      (then
        (global.set $inputCap (local.get $bytes))
        (global.set $inputPtr (call $alloc (local.get $bytes)))))
    (global.get $inputPtr))

  (func (export "size") (result i32) (global.get $size))
  (func (export "entries") (result i32) (global.get $entries))

  ;; bytes 0..k-1 of a word, k in 0..7
  (func $lowBytes (param $k i32) (result i64)
    (i64.sub (i64.shl (i64.const 1) (i64.extend_i32_u (i32.shl (local.get $k) (i32.const 3)))) (i64.const 1)))

  (func $hashKey (param $ptr i32) (param $n i32) (result i32)
    (local $h i64) (local $i i32) (local $rest i32)
    (block $done
      (loop $words
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $n)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load (i32.add (local.get $ptr) (local.get $i)))) (i64.const 0x9e3779b97f4a7c15)))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $words)))
    (local.set $rest (i32.sub (local.get $n) (local.get $i)))
    (if (local.get $rest)
      (then
        (local.set $h (i64.mul
          (i64.xor (local.get $h) (i64.and (i64.load (i32.add (local.get $ptr) (local.get $i))) (call $lowBytes (local.get $rest))))
          (i64.const 0x9e3779b97f4a7c15)))))
    (i32.wrap_i64 (i64.shr_u
      (i64.mul (i64.xor (local.get $h) (i64.extend_i32_u (local.get $n))) (i64.const 0x9e3779b97f4a7c15))
      (i64.const 32))))

  ;; The entry holding the key at $ptr ($n bytes, hash $hash), or 0 (then $freeSlot is where it goes).
  (func $find (param $ptr i32) (param $n i32) (param $hash i32) (result i32)
    (local $slot i32) (local $e i32) (local $entry i32) (local $key i32) (local $i i32) (local $rest i32)
    (local.set $slot (i32.and (local.get $hash) (global.get $slotMask)))
    (loop $probe
      (local.set $e (i32.load (i32.add (global.get $slots) (i32.shl (local.get $slot) (i32.const 2)))))
      (if (i32.eqz (local.get $e))
        (then
          (global.set $freeSlot (local.get $slot))
          (return (i32.const 0))))
      (local.set $entry (i32.add (global.get $entries) (i32.mul (i32.sub (local.get $e) (i32.const 1)) (i32.const 24))))
      (block $differs
        (br_if $differs (i32.ne (i32.load (local.get $entry)) (local.get $hash)))
        (br_if $differs (i32.ne (i32.load offset=8 (local.get $entry)) (local.get $n)))
        ;; compare the key's bytes, a word at a time
        (local.set $key (i32.load offset=4 (local.get $entry)))
        (local.set $i (i32.const 0))
        (block $whole
          (loop $words
            (br_if $whole (i32.gt_u (i32.add (local.get $i) (i32.const 8)) (local.get $n)))
            (br_if $differs (i64.ne (i64.load (i32.add (local.get $key) (local.get $i))) (i64.load (i32.add (local.get $ptr) (local.get $i)))))
            (local.set $i (i32.add (local.get $i) (i32.const 8)))
            (br $words)))
        (local.set $rest (i32.sub (local.get $n) (local.get $i)))
        (if (local.get $rest)
          (then
            (br_if $differs (i64.ne (i64.const 0) (i64.and
              (i64.xor (i64.load (i32.add (local.get $key) (local.get $i))) (i64.load (i32.add (local.get $ptr) (local.get $i))))
              (call $lowBytes (local.get $rest)))))))
        (return (local.get $entry)))
      (local.set $slot (i32.and (i32.add (local.get $slot) (i32.const 1)) (global.get $slotMask)))
      (br $probe))
    (unreachable))

  ;; Doubles the slots (load factor stays <= 1/2) and puts every entry back.
  (func $rehash
    (local $count i32) (local $mask i32) (local $table i32) (local $e i32) (local $slot i32)
    (local.set $count (i32.shl (i32.add (global.get $slotMask) (i32.const 1)) (i32.const 1)))
    (local.set $mask (i32.sub (local.get $count) (i32.const 1)))
    (local.set $table (call $alloc (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $e) (global.get $size)))
        (local.set $slot (i32.and (i32.load (i32.add (global.get $entries) (i32.mul (local.get $e) (i32.const 24)))) (local.get $mask)))
        (block $free
          (loop $probe
            (br_if $free (i32.eqz (i32.load (i32.add (local.get $table) (i32.shl (local.get $slot) (i32.const 2))))))
            (local.set $slot (i32.and (i32.add (local.get $slot) (i32.const 1)) (local.get $mask)))
            (br $probe)))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (i32.store (i32.add (local.get $table) (i32.shl (local.get $slot) (i32.const 2))) (local.get $e))
        (br $each)))
    (global.set $slots (local.get $table))
    (global.set $slotMask (local.get $mask)))

  ;; A new entry for the key at $ptr in $freeSlot (as $find left it).
  (func $insert (param $ptr i32) (param $n i32) (param $hash i32) (param $count f64)
    (local $grown i32) (local $key i32) (local $entry i32)
    (if (i32.eq (global.get $size) (global.get $entryCap))
      (then
        (local.set $grown (call $alloc (i32.mul (global.get $entryCap) (i32.const 48))))
        (memory.copy (local.get $grown) (global.get $entries) (i32.mul (global.get $size) (i32.const 24)))
        (global.set $entries (local.get $grown))
        (global.set $entryCap (i32.shl (global.get $entryCap) (i32.const 1)))))
    (local.set $key (call $alloc (local.get $n)))
    (memory.copy (local.get $key) (local.get $ptr) (local.get $n))
    (local.set $entry (i32.add (global.get $entries) (i32.mul (global.get $size) (i32.const 24))))
    (i32.store (local.get $entry) (local.get $hash))
    (i32.store offset=4 (local.get $entry) (local.get $key))
    (i32.store offset=8 (local.get $entry) (local.get $n))
    (f64.store offset=16 (local.get $entry) (local.get $count))
    (global.set $size (i32.add (global.get $size) (i32.const 1)))
    (i32.store (i32.add (global.get $slots) (i32.shl (global.get $freeSlot) (i32.const 2))) (global.get $size))
    (if (i32.gt_u (i32.shl (global.get $size) (i32.const 1)) (global.get $slotMask))
      (then (call $rehash))))

  (func $add (param $ptr i32) (param $n i32) (param $hash i32) (param $count f64)
    (local $entry i32)
    (local.set $entry (call $find (local.get $ptr) (local.get $n) (local.get $hash)))
    (if (local.get $entry)
      (then (f64.store offset=16 (local.get $entry) (f64.add (f64.load offset=16 (local.get $entry)) (local.get $count))))
      (else (call $insert (local.get $ptr) (local.get $n) (local.get $hash) (local.get $count)))))

  ;; Adds $count to the tag in the input area ($n bytes).
  (func (export "addTag") (param $n i32) (param $count f64)
    (call $add (global.get $inputPtr) (local.get $n) (call $hashKey (global.get $inputPtr) (local.get $n)) (local.get $count)))

  ;; Takes one count off the tag in the input area if it has one; returns whether it had.
  (func (export "removeTag") (param $n i32) (result i32)
    (local $entry i32) (local $count f64)
    (local.set $entry (call $find (global.get $inputPtr) (local.get $n) (call $hashKey (global.get $inputPtr) (local.get $n))))
    (if (i32.eqz (local.get $entry)) (then (return (i32.const 0))))
    (local.set $count (f64.load offset=16 (local.get $entry)))
    (if (f64.le (local.get $count) (f64.const 0)) (then (return (i32.const 0))))
    (f64.store offset=16 (local.get $entry) (f64.sub (local.get $count) (f64.const 1)))
    (i32.const 1))

  ;; Counts once each ","-separated tag of the line in the input area ($n bytes) when it holds exactly
  ;; $expected tags; otherwise (some tag contains ",") counts nothing and returns 0.
  ;; Separators are found 8 bytes at a time: in x = word ^ ",,,,,,,," a separator is a zero byte, and
  ;; ~(((x & 0x7f..) + 0x7f..) | x | 0x7f..) has 0x80 in exactly the zero bytes of x (no carries cross bytes).
  (func (export "countLine") (param $n i32) (param $expected i32) (result i32)
    (local $i i32) (local $end i32) (local $rest i32) (local $separators i32)
    (local $w i64) (local $x i64) (local $zeros i64)
    (local $start i32) (local $h i64) (local $tagEnd i32) (local $length i32)
    (local.set $end (i32.add (global.get $inputPtr) (local.get $n)))
    ;; first pass: the separators, so that a line that does not split into $expected tags counts nothing
    (local.set $i (global.get $inputPtr))
    (block $counted
      (loop $words
        (br_if $counted (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $x (i64.xor (i64.load (local.get $i)) (i64.const 0x2c2c2c2c2c2c2c2c)))
        (local.set $zeros (i64.xor (i64.or (i64.or
          (i64.add (i64.and (local.get $x) (i64.const 0x7f7f7f7f7f7f7f7f)) (i64.const 0x7f7f7f7f7f7f7f7f))
          (local.get $x)) (i64.const 0x7f7f7f7f7f7f7f7f)) (i64.const -1)))
        (local.set $rest (i32.sub (local.get $end) (local.get $i)))
        (if (i32.lt_u (local.get $rest) (i32.const 8))
          (then (local.set $zeros (i64.and (local.get $zeros) (call $lowBytes (local.get $rest))))))
        (local.set $separators (i32.add (local.get $separators) (i32.wrap_i64 (i64.popcnt (local.get $zeros)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $words)))
    (if (i32.ne (i32.add (local.get $separators) (i32.const 1)) (local.get $expected)) (then (return (i32.const 0))))
    ;; second pass: hash each tag while looking for its end, then count it
    (local.set $start (global.get $inputPtr))
    (loop $tags
      (local.set $i (local.get $start))
      (local.set $h (i64.const 0))
      (block $tagFound
        (loop $words
          (local.set $w (i64.load (local.get $i)))
          (local.set $x (i64.xor (local.get $w) (i64.const 0x2c2c2c2c2c2c2c2c)))
          (local.set $zeros (i64.xor (i64.or (i64.or
            (i64.add (i64.and (local.get $x) (i64.const 0x7f7f7f7f7f7f7f7f)) (i64.const 0x7f7f7f7f7f7f7f7f))
            (local.get $x)) (i64.const 0x7f7f7f7f7f7f7f7f)) (i64.const -1)))
          (local.set $rest (i32.sub (local.get $end) (local.get $i)))
          (if (i32.lt_u (local.get $rest) (i32.const 8))
            (then (local.set $zeros (i64.and (local.get $zeros) (call $lowBytes (local.get $rest))))))
          (if (i64.ne (local.get $zeros) (i64.const 0))
            (then
              ;; the tag ends in this word, before the first separator
              (local.set $rest (i32.wrap_i64 (i64.shr_u (i64.ctz (local.get $zeros)) (i64.const 3))))
              (if (local.get $rest)
                (then (local.set $h (i64.mul
                  (i64.xor (local.get $h) (i64.and (local.get $w) (call $lowBytes (local.get $rest))))
                  (i64.const 0x9e3779b97f4a7c15)))))
              (local.set $tagEnd (i32.add (local.get $i) (local.get $rest)))
              (br $tagFound)))
          (if (i32.le_u (local.get $rest) (i32.const 8))
            (then
              ;; the line ends in this word
              (if (i32.eq (local.get $rest) (i32.const 8))
                (then (local.set $h (i64.mul (i64.xor (local.get $h) (local.get $w)) (i64.const 0x9e3779b97f4a7c15))))
                (else (if (local.get $rest)
                  (then (local.set $h (i64.mul
                    (i64.xor (local.get $h) (i64.and (local.get $w) (call $lowBytes (local.get $rest))))
                    (i64.const 0x9e3779b97f4a7c15)))))))
              (local.set $tagEnd (local.get $end))
              (br $tagFound)))
          (local.set $h (i64.mul (i64.xor (local.get $h) (local.get $w)) (i64.const 0x9e3779b97f4a7c15)))
          (local.set $i (i32.add (local.get $i) (i32.const 8)))
          (br $words)))
      (local.set $length (i32.sub (local.get $tagEnd) (local.get $start)))
      (call $add (local.get $start) (local.get $length)
        (i32.wrap_i64 (i64.shr_u
          (i64.mul (i64.xor (local.get $h) (i64.extend_i32_u (local.get $length))) (i64.const 0x9e3779b97f4a7c15))
          (i64.const 32)))
        (f64.const 1))
      (if (i32.lt_u (local.get $tagEnd) (local.get $end))
        (then
          (local.set $start (i32.add (local.get $tagEnd) (i32.const 1)))
          (br $tags))))
    (i32.const 1))
)
