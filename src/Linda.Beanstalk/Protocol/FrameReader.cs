using System.Buffers;

namespace Linda.Beanstalk.Protocol;

/// <summary>
/// Cuts a connection's incoming bytes into commands the way beanstalkd 1.12 does (prot.c,
/// <c>conn_process_io</c>), for one connection. Give it whatever has arrived; it returns the next
/// <see cref="Frame"/> and how many bytes that used. It keeps the state that spans reads (a put's body
/// arriving in pieces, an over-long line or a too-big body being skipped), so it fits a
/// <c>PipeReader</c> loop:
/// <code>
/// var frame = reader.Read(buffer);
/// buffer = buffer.Slice(frame.Consumed);
/// if (frame.NeedsMoreData) pipe.AdvanceTo(buffer.Start, buffer.End); // and read again
/// else /* answer frame.Command or frame.Error, then call Read again on buffer */;
/// </code>
/// beanstalkd's line rules, copied because clients see them (each checked against a real beanstalkd):
/// <list type="bullet">
/// <item>A line ends at the <i>first</i> CR of the line if an LF follows it. A CR followed by anything
/// else means no line can end until 224 bytes have come (beanstalkd then answers nothing until that).</item>
/// <item>A line may be 224 bytes long with its CRLF. Without a line end in the first 224 bytes, those
/// bytes are dropped and so is every following 224-byte block without a line end; the block in which
/// one is found is answered <c>BAD_FORMAT</c>. A 225-byte line therefore also swallows the next line
/// (its CR ends the first block, its LF starts the second).</item>
/// <item>A put with more than <see cref="MaxJobSize"/> bytes has its body and CRLF skipped, then gets
/// <c>JOB_TOO_BIG</c>, even with trailing text on its line. Any other put with a bad line gets
/// <c>BAD_FORMAT</c> and its body is read as commands.</item>
/// <item>A put's body is followed by exactly two more bytes; if they are not CRLF the answer is
/// <c>EXPECTED_CRLF</c> and they are used up anyway.</item>
/// </list>
/// </summary>
public sealed class FrameReader
{
    /// <summary>The longest command line beanstalkd takes, in bytes, with its CRLF (<c>LINE_BUF_SIZE</c>).</summary>
    public const int MaxLineLength = 224;

    /// <summary>beanstalkd's default maximum job size (<c>-z</c>), in bytes.</summary>
    public const int DefaultMaxJobSize = 65535;

    private enum State
    {
        /// <summary>Waiting for a command line.</summary>
        Line,

        /// <summary>Dropping an over-long line, in 224-byte blocks, until a line end.</summary>
        DiscardLine,

        /// <summary>Copying a put's body and then its two trailing bytes.</summary>
        Body,

        /// <summary>Skipping a too-big put's body and CRLF (beanstalkd's bit bucket).</summary>
        SkipBody,
    }

    private State _state = State.Line;
    private PutHeader _put;
    private byte[] _body = [];
    private int _bodyRead;
    private readonly byte[] _trailer = new byte[2];
    private int _trailerRead;
    private long _skipRemaining;

    /// <summary>A reader for one connection.</summary>
    /// <param name="maxJobSize">The largest body a put may have, in bytes (beanstalkd's <c>max-job-size</c>).</param>
    public FrameReader(int maxJobSize = DefaultMaxJobSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxJobSize);
        MaxJobSize = maxJobSize;
    }

    /// <summary>The largest body a put may have, in bytes; equal is allowed.</summary>
    public int MaxJobSize { get; }

    /// <summary>
    /// The next complete command or error reply at the start of <paramref name="buffer"/>, or
    /// <see cref="Frame.NeedsMoreData"/>. <see cref="Frame.Consumed"/> bytes are used up either way and
    /// must not be given again.
    /// </summary>
    public Frame Read(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> scratch = stackalloc byte[MaxLineLength];
        long consumed = 0;
        while (true)
        {
            var rest = buffer.Slice(consumed);
            switch (_state)
            {
                case State.Line:
                case State.DiscardLine:
                {
                    var block = rest.Length > MaxLineLength ? rest.Slice(0, MaxLineLength) : rest;
                    ReadOnlySpan<byte> bytes = block.IsSingleSegment ? block.FirstSpan : CopyTo(block, scratch);
                    var lineLength = LineLength(bytes);
                    if (lineLength == 0)
                    {
                        if (bytes.Length < MaxLineLength)
                            return Frame.More(consumed);
                        consumed += MaxLineLength; // no line end in a whole block: drop it
                        _state = State.DiscardLine;
                        continue;
                    }

                    consumed += lineLength;
                    if (_state == State.DiscardLine)
                    {
                        _state = State.Line;
                        return Frame.Of(ProtocolError.BadFormat, consumed);
                    }

                    var parsed = LineParser.Parse(bytes[..(lineLength - 2)]);
                    if (parsed.Command is { } command)
                        return Frame.Of(command, consumed);
                    if (parsed.Error is { } error)
                        return Frame.Of(error, consumed);
                    if (StartBody(parsed.Put!.Value) is { } putError)
                        return Frame.Of(putError, consumed);
                    continue;
                }

                case State.Body:
                {
                    var copied = CopyBody(rest);
                    consumed += copied;
                    if (_trailerRead < 2)
                        return Frame.More(consumed);
                    _state = State.Line;
                    var body = _body;
                    _body = [];
                    return _trailer is [(byte)'\r', (byte)'\n']
                        ? Frame.Of(new Command.Put(_put.Priority, _put.DelaySeconds, _put.TtrSeconds, body), consumed)
                        : Frame.Of(ProtocolError.ExpectedCrlf, consumed);
                }

                case State.SkipBody:
                {
                    var skipped = Math.Min(rest.Length, _skipRemaining);
                    consumed += skipped;
                    _skipRemaining -= skipped;
                    if (_skipRemaining > 0)
                        return Frame.More(consumed);
                    _state = State.Line;
                    return Frame.Of(ProtocolError.JobTooBig, consumed);
                }

                default:
                    throw new InvalidOperationException($"Unknown state {_state}.");
            }
        }
    }

    /// <summary>
    /// After a put's line: skip a too-big body, refuse trailing text, or start reading the body.
    /// Returns the error to answer at once, if any.
    /// </summary>
    private ProtocolError? StartBody(PutHeader put)
    {
        if (put.BodySize > (uint)MaxJobSize)
        {
            _skipRemaining = (long)put.BodySize + 2;
            _state = State.SkipBody;
            return null;
        }
        if (put.TrailingGarbage)
            return ProtocolError.BadFormat;

        _put = put;
        _body = put.BodySize == 0 ? [] : new byte[put.BodySize];
        _bodyRead = 0;
        _trailerRead = 0;
        _state = State.Body;
        return null;
    }

    /// <summary>Copies what it can of the body and then of the two trailing bytes; returns how many bytes it used.</summary>
    private long CopyBody(ReadOnlySequence<byte> rest)
    {
        var toBody = (int)Math.Min(rest.Length, _body.Length - _bodyRead);
        rest.Slice(0, toBody).CopyTo(_body.AsSpan(_bodyRead));
        _bodyRead += toBody;

        var toTrailer = (int)Math.Min(rest.Length - toBody, 2 - _trailerRead);
        rest.Slice(toBody, toTrailer).CopyTo(_trailer.AsSpan(_trailerRead));
        _trailerRead += toTrailer;
        return toBody + toTrailer;
    }

    /// <summary>
    /// beanstalkd's <c>scan_line_end</c>: the length of the line with its CRLF if the first CR (not
    /// counting the last byte) is followed by LF, else 0.
    /// </summary>
    private static int LineLength(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 2)
            return 0;
        var cr = bytes[..^1].IndexOf((byte)'\r');
        return cr >= 0 && bytes[cr + 1] == (byte)'\n' ? cr + 2 : 0;
    }

    private static ReadOnlySpan<byte> CopyTo(in ReadOnlySequence<byte> block, Span<byte> scratch)
    {
        block.CopyTo(scratch);
        return scratch[..(int)block.Length];
    }
}
