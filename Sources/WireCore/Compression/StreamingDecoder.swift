import NIOCore

/// One step of a streaming C decoder: consumes from `input`, writes into `output`.
struct DecoderStep {
    var consumed: Int
    var produced: Int
    /// True when the current frame / stream ended with this step.
    var frameEnded: Bool
}

/// A streaming decompressor driven by ``runStreamingDecoder(codec:input:output:maxOutputSize:decoder:)``.
protocol StreamingDecoder: AnyObject {
    /// Decodes as much as possible from `input` into `output`.
    func step(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) throws(CompressionError) -> DecoderStep
    /// Called when a frame ended and input remains: prepare for the next frame, or throw if the
    /// format allows nothing after its end.
    func startNextFrame(remaining: Int) throws(CompressionError)
}

/// Drives `decoder` over all of `input`, appending to `output` in growing chunks and never more
/// than `maxOutputSize` bytes in total (one extra byte of room detects overflow).
func runStreamingDecoder(
    codec: String,
    input: ByteBuffer,
    output: inout ByteBuffer,
    maxOutputSize: Int,
    decoder: some StreamingDecoder
) throws(CompressionError) {
    try checkLimit(maxOutputSize)
    if input.readableBytes == 0 { throw CompressionError.truncatedInput(codec: codec) }
    try restoringOnFailure(&output) { (output: inout ByteBuffer) throws(CompressionError) in
        let result: Result<Void, CompressionError> = input.withUnsafeReadableBytes { inputBytes in
            var inputOffset = 0
            var produced = 0
            var chunk = min(max(inputBytes.count * 4, 4096), 1 << 20)
            var frameEnded = false
            var stalls = 0
            while true {
                if frameEnded {
                    if inputOffset == inputBytes.count { return .success(()) }
                    do throws(CompressionError) {
                        try decoder.startNextFrame(remaining: inputBytes.count - inputOffset)
                    } catch {
                        return .failure(error)
                    }
                    frameEnded = false
                }
                let room = min(chunk, maxOutputSize - produced + 1)
                var stepResult: Result<DecoderStep, CompressionError> = .success(DecoderStep(consumed: 0, produced: 0, frameEnded: false))
                let remainingInput = UnsafeRawBufferPointer(rebasing: inputBytes[inputOffset...])
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: room) { outputBytes in
                    let window = UnsafeMutableRawBufferPointer(rebasing: outputBytes[0..<room])
                    do throws(CompressionError) {
                        let step = try decoder.step(input: remainingInput, output: window)
                        stepResult = .success(step)
                        return step.produced
                    } catch {
                        stepResult = .failure(error)
                        return 0
                    }
                }
                let step: DecoderStep
                switch stepResult {
                case .success(let value): step = value
                case .failure(let error): return .failure(error)
                }
                inputOffset += step.consumed
                produced += step.produced
                if produced > maxOutputSize {
                    return .failure(.outputTooLarge(limit: maxOutputSize))
                }
                if step.frameEnded {
                    frameEnded = true
                    continue
                }
                if inputOffset == inputBytes.count && step.produced < room {
                    // All input was offered and there was room to spare, yet the stream did not end.
                    return .failure(.truncatedInput(codec: codec))
                }
                if step.consumed == 0 && step.produced == 0 {
                    stalls += 1
                    if stalls > 2 { return .failure(.corruptInput(codec: codec, reason: "decoder made no progress")) }
                } else {
                    stalls = 0
                }
                if step.produced == room && chunk < (4 << 20) { chunk *= 2 }
            }
        }
        try result.get()
    }
}
