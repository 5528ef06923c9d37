import NIOCore

extension BackendMessage {
    /// Encodes the message as a server would (used by tests, fuzz seeds and mock servers).
    public func encode(into buffer: inout ByteBuffer) {
        func simple(_ t: Character) {
            buffer.writeInteger(t.asciiValue!)
            buffer.writeInteger(Int32(4))
        }
        func cstr(_ s: String) { buffer.writeString(s); buffer.writeInteger(UInt8(0)) }
        switch self {
        case .authentication(let auth):
            let start = buffer.beginMessage(UInt8(ascii: "R"))
            switch auth {
            case .ok: buffer.writeInteger(Int32(0))
            case .kerberosV5: buffer.writeInteger(Int32(2))
            case .cleartextPassword: buffer.writeInteger(Int32(3))
            case .md5Password(let salt): buffer.writeInteger(Int32(5)); buffer.writeBytes(salt)
            case .gss: buffer.writeInteger(Int32(7))
            case .gssContinue(let d): buffer.writeInteger(Int32(8)); buffer.writeBytes(d)
            case .sspi: buffer.writeInteger(Int32(9))
            case .sasl(let mechanisms):
                buffer.writeInteger(Int32(10))
                for m in mechanisms { cstr(m) }
                buffer.writeInteger(UInt8(0))
            case .saslContinue(let d): buffer.writeInteger(Int32(11)); buffer.writeBytes(d)
            case .saslFinal(let d): buffer.writeInteger(Int32(12)); buffer.writeBytes(d)
            }
            buffer.endMessage(start)
        case .backendKeyData(let pid, let key):
            let start = buffer.beginMessage(UInt8(ascii: "K"))
            buffer.writeInteger(pid); buffer.writeInteger(key)
            buffer.endMessage(start)
        case .bindComplete: simple("2")
        case .closeComplete: simple("3")
        case .parseComplete: simple("1")
        case .noData: simple("n")
        case .emptyQueryResponse: simple("I")
        case .portalSuspended: simple("s")
        case .copyDone: simple("c")
        case .commandComplete(let tag):
            let start = buffer.beginMessage(UInt8(ascii: "C")); cstr(tag); buffer.endMessage(start)
        case .copyData(var data):
            let start = buffer.beginMessage(UInt8(ascii: "d")); buffer.writeBuffer(&data); buffer.endMessage(start)
        case .copyInResponse(let r), .copyOutResponse(let r), .copyBothResponse(let r):
            let t: Character
            if case .copyInResponse = self { t = "G" } else if case .copyOutResponse = self { t = "H" } else { t = "W" }
            let start = buffer.beginMessage(t.asciiValue!)
            buffer.writeInteger(Int8(r.format.rawValue))
            buffer.writeInteger(Int16(r.columnFormats.count))
            for f in r.columnFormats { buffer.writeInteger(f.rawValue) }
            buffer.endMessage(start)
        case .dataRow(let row):
            let start = buffer.beginMessage(UInt8(ascii: "D"))
            buffer.writeInteger(Int16(row.columnCount))
            var bytes = row.bytes
            buffer.writeBuffer(&bytes)
            buffer.endMessage(start)
        case .errorResponse(let f), .noticeResponse(let f):
            let isError: Bool
            if case .errorResponse = self { isError = true } else { isError = false }
            let start = buffer.beginMessage(isError ? UInt8(ascii: "E") : UInt8(ascii: "N"))
            for (k, v) in f.fields.sorted(by: { $0.key < $1.key }) { buffer.writeInteger(k); cstr(v) }
            buffer.writeInteger(UInt8(0))
            buffer.endMessage(start)
        case .negotiateProtocolVersion(let minor, let options):
            let start = buffer.beginMessage(UInt8(ascii: "v"))
            buffer.writeInteger(minor)
            buffer.writeInteger(Int32(options.count))
            for o in options { cstr(o) }
            buffer.endMessage(start)
        case .notification(let pid, let channel, let payload):
            let start = buffer.beginMessage(UInt8(ascii: "A"))
            buffer.writeInteger(pid); cstr(channel); cstr(payload)
            buffer.endMessage(start)
        case .parameterDescription(let types):
            let start = buffer.beginMessage(UInt8(ascii: "t"))
            buffer.writeInteger(Int16(types.count))
            for t in types { buffer.writeInteger(t.rawValue) }
            buffer.endMessage(start)
        case .parameterStatus(let name, let value):
            let start = buffer.beginMessage(UInt8(ascii: "S")); cstr(name); cstr(value); buffer.endMessage(start)
        case .readyForQuery(let status):
            let start = buffer.beginMessage(UInt8(ascii: "Z")); buffer.writeInteger(status.rawValue); buffer.endMessage(start)
        case .rowDescription(let columns):
            let start = buffer.beginMessage(UInt8(ascii: "T"))
            buffer.writeInteger(Int16(columns.count))
            for c in columns {
                cstr(c.name)
                buffer.writeInteger(c.tableOID)
                buffer.writeInteger(c.columnAttributeNumber)
                buffer.writeInteger(c.dataType.rawValue)
                buffer.writeInteger(c.dataTypeSize)
                buffer.writeInteger(c.typeModifier)
                buffer.writeInteger(c.format.rawValue)
            }
            buffer.endMessage(start)
        }
    }
}
