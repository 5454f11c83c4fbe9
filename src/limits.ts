/**
 * Every bound Sealbox enforces, in one place, each with the reason it exists.
 * Decoders check declared lengths against these before allocating anything.
 */

/** Size of the fixed preamble: magic (3) + version (1) + header length (4). */
export const PREAMBLE_BYTES = 8;

/** Largest CBOR header body. Bounds the allocation a hostile preamble can cause (255 RSA-4096 EDKs + 64 KiB context fit easily). */
export const MAX_HEADER_BYTES = 1024 * 1024;

/** Hard cap on EDKs in a header: one byte's worth, as a decoder must bound keyring work. */
export const MAX_ENCRYPTED_DATA_KEYS = 255;

/** Default `maxEncryptedDataKeys` on decrypt: each EDK may cost a network call to a key service. */
export const DEFAULT_MAX_ENCRYPTED_DATA_KEYS = 16;

/** Distinct regions a discovery KMS keyring calls for one message: each may need a new KMS client and costs round trips, and a hostile header names as many regions as it has EDKs. */
export const MAX_KMS_DISCOVERY_REGIONS = 8;

/** KMS clients `kmsClientSupplier` keeps by default, least recently used dropped first: more regions than one application uses, never one per region an EDK names. */
export const DEFAULT_KMS_CLIENT_CACHE_SIZE = 16;

/** Largest provider id (UTF-8 bytes): names like `aws-kms` or a raw keyring namespace. */
export const MAX_PROVIDER_ID_BYTES = 1024;

/** Largest provider info: a key ARN or a raw keyring's name plus IV. */
export const MAX_PROVIDER_INFO_BYTES = 4096;

/** Largest wrapped data key: an RSA-4096 ciphertext is 512 bytes, a KMS blob about 200; leave headroom. */
export const MAX_EDK_CIPHERTEXT_BYTES = 8192;

/** Largest encryption context, summed UTF-8 bytes of keys and values: bounds what a header may make a decoder hold. A context sent to a KMS keyring must also fit MAX_KMS_ENCRYPTION_CONTEXT_BYTES. */
export const MAX_ENCRYPTION_CONTEXT_BYTES = 64 * 1024;

/**
 * Largest encryption context the local KMS accepts in one request, summed UTF-8 bytes of keys
 * and values (larger is `ValidationException`, AWS's name for a request outside its
 * constraints). It bounds the policy and grant work a caller-chosen context can cause inside
 * the write transaction, and the audit row it leaves. AWS KMS publishes no total: the API
 * Reference gives EncryptionContext no length constraint and the Developer Guide's "Encryption
 * context rules" list only string types and Unicode (checked December 2026); the one documented
 * bound is for grant constraints, 8 pairs and 384 characters (Developer Guide, "Grant
 * constraints"), see grant-rules.ts. 8 KiB is Alibaba Cloud KMS's documented cap (8,192
 * characters), far above any context in real use.
 */
export const MAX_KMS_ENCRYPTION_CONTEXT_BYTES = 8 * 1024;

/**
 * Largest write-ahead log, in bytes, that a local KMS process may leave behind by ending
 * without a checkpoint (`LocalKms.onlyAuditRowsWritten`): 64 pages of 4 KiB. Each process that
 * opens the store alone reads the whole log to rebuild SQLite's index of it (about 8 us a page
 * here), and after that a checkpoint no longer knows what earlier ones copied: past the bound,
 * the process checkpoints (10-20 ms of fsyncs, every 30 or so CLI commands) and the log starts
 * over. Without the bound the log grew by every command and each of them read all of it.
 */
export const MAX_LOCAL_KMS_WAL_LEFT_BYTES = 256 * 1024;

/**
 * How long a local KMS call waits for another process's write transaction on the same store
 * (SQLite's busy timeout) before failing with `DependencyTimeoutException`: each transaction
 * is one operation (well under a second), so waiting longer means a writer is stuck (stopped
 * with Ctrl-Z, or a huge `audit upgrade`), and the caller is better told to retry.
 */
export const LOCAL_KMS_BUSY_TIMEOUT_MS = 15_000;

/** Most pairs in an encryption context. */
export const MAX_ENCRYPTION_CONTEXT_PAIRS = 1024;

/** Default frame length: 64 KiB amortizes per-frame cipher set-up (about 9 us in node:crypto) while keeping stream memory small. */
export const DEFAULT_FRAME_LENGTH = 64 * 1024;

/** Smallest frame length: tiny frames are legal (tests use them) but never useful below 1 byte. */
export const MIN_FRAME_LENGTH = 1;

/** Largest frame length the format allows: a stream decoder buffers one frame, so this bounds its memory. */
export const MAX_FRAME_LENGTH = 16 * 1024 * 1024;

/** Default decrypt bound on frame length; callers may lower it (or raise it up to MAX_FRAME_LENGTH). */
export const DEFAULT_MAX_FRAME_LENGTH = 4 * 1024 * 1024;

/** Most frames in one message: 2^32 - 1 keeps GCM invocations per content key far below its safety bound. */
export const MAX_FRAMES = 2 ** 32 - 1;

/** AES-GCM tag length in bytes. */
export const TAG_BYTES = 16;

/** Length of the message id (HKDF salt): 256 random bits make a collision across messages negligible. */
export const MESSAGE_ID_BYTES = 32;

/** Length of the key commitment. */
export const COMMITMENT_BYTES = 32;

/** Data key length for the AES-256 suite. */
export const DATA_KEY_BYTES = 32;

/**
 * Longest delay a timer holds, in ms (2^31 - 1, about 24.8 days): Node's setTimeout and
 * AbortSignal.timeout fire at once or throw beyond it, so longer deadlines are refused.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
