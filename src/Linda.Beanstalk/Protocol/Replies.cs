using System.Buffers;
using System.Globalization;
using System.Text;

namespace Linda.Beanstalk.Protocol;

/// <summary>
/// Every reply of beanstalkd 1.12, byte for byte (prot.c's <c>MSG_*</c> strings and formats), written
/// into an <see cref="IBufferWriter{T}"/> such as a <c>PipeWriter</c>. Each reply is one CRLF-ended line,
/// followed for <c>RESERVED</c>, <c>FOUND</c> and <c>OK</c> by exactly the announced number of data bytes
/// and a CRLF that is not counted.
/// </summary>
public static class Replies
{
    // ------------------------------------------------------------- put

    /// <summary><c>INSERTED &lt;id&gt;</c>: the put's job is in.</summary>
    public static void Inserted(IBufferWriter<byte> writer, ulong id) => Line(writer, "INSERTED "u8, id);

    /// <summary><c>BURIED &lt;id&gt;</c>: the put's job is in, but buried (beanstalkd: out of memory for its queue).</summary>
    public static void Buried(IBufferWriter<byte> writer, ulong id) => Line(writer, "BURIED "u8, id);

    /// <summary><c>DRAINING</c>: the server takes no new jobs.</summary>
    public static void Draining(IBufferWriter<byte> writer) => writer.Write("DRAINING\r\n"u8);

    /// <summary><c>USING &lt;tube&gt;</c>: the answer to use and to list-tube-used.</summary>
    public static void Using(IBufferWriter<byte> writer, string tube)
    {
        writer.Write("USING "u8);
        WriteName(writer, tube);
        writer.Write("\r\n"u8);
    }

    // ------------------------------------------------------------- reserve and peek

    /// <summary><c>RESERVED &lt;id&gt; &lt;bytes&gt;\r\n&lt;data&gt;\r\n</c>.</summary>
    public static void Reserved(IBufferWriter<byte> writer, ulong id, ReadOnlySpan<byte> body) => Job(writer, "RESERVED "u8, id, body);

    /// <summary><c>FOUND &lt;id&gt; &lt;bytes&gt;\r\n&lt;data&gt;\r\n</c>: the answer to the peek commands.</summary>
    public static void Found(IBufferWriter<byte> writer, ulong id, ReadOnlySpan<byte> body) => Job(writer, "FOUND "u8, id, body);

    /// <summary><c>DEADLINE_SOON</c>: a job reserved by this client is within a second of its ttr.</summary>
    public static void DeadlineSoon(IBufferWriter<byte> writer) => writer.Write("DEADLINE_SOON\r\n"u8);

    /// <summary><c>TIMED_OUT</c>: reserve-with-timeout found no job in time.</summary>
    public static void TimedOut(IBufferWriter<byte> writer) => writer.Write("TIMED_OUT\r\n"u8);

    // ------------------------------------------------------------- job commands

    /// <summary><c>DELETED</c>.</summary>
    public static void Deleted(IBufferWriter<byte> writer) => writer.Write("DELETED\r\n"u8);

    /// <summary><c>NOT_FOUND</c>: no such job (in a state the command takes), or no such tube.</summary>
    public static void NotFound(IBufferWriter<byte> writer) => writer.Write("NOT_FOUND\r\n"u8);

    /// <summary><c>RELEASED</c>.</summary>
    public static void Released(IBufferWriter<byte> writer) => writer.Write("RELEASED\r\n"u8);

    /// <summary><c>BURIED</c>: the answer to bury (and to a release beanstalkd had to bury instead).</summary>
    public static void Buried(IBufferWriter<byte> writer) => writer.Write("BURIED\r\n"u8);

    /// <summary><c>TOUCHED</c>.</summary>
    public static void Touched(IBufferWriter<byte> writer) => writer.Write("TOUCHED\r\n"u8);

    /// <summary><c>KICKED &lt;count&gt;</c>: the answer to kick.</summary>
    public static void Kicked(IBufferWriter<byte> writer, uint count) => Line(writer, "KICKED "u8, count);

    /// <summary><c>KICKED</c>: the answer to kick-job.</summary>
    public static void Kicked(IBufferWriter<byte> writer) => writer.Write("KICKED\r\n"u8);

    // ------------------------------------------------------------- tubes

    /// <summary><c>WATCHING &lt;count&gt;</c>: the answer to watch and ignore.</summary>
    public static void Watching(IBufferWriter<byte> writer, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Line(writer, "WATCHING "u8, (ulong)count);
    }

    /// <summary><c>NOT_IGNORED</c>: ignore of the only watched tube.</summary>
    public static void NotIgnored(IBufferWriter<byte> writer) => writer.Write("NOT_IGNORED\r\n"u8);

    /// <summary><c>PAUSED</c>.</summary>
    public static void Paused(IBufferWriter<byte> writer) => writer.Write("PAUSED\r\n"u8);

    // ------------------------------------------------------------- OK + YAML

    /// <summary><c>OK &lt;bytes&gt;\r\n&lt;data&gt;\r\n</c>: the envelope of every YAML answer.</summary>
    public static void Ok(IBufferWriter<byte> writer, ReadOnlySpan<byte> data)
    {
        Line(writer, "OK "u8, (ulong)data.Length);
        writer.Write(data);
        writer.Write("\r\n"u8);
    }

    /// <summary>The answer to stats-job.</summary>
    public static void StatsJob(IBufferWriter<byte> writer, JobStats stats) => Ok(writer, StatsYaml.Job(stats));

    /// <summary>The answer to stats-tube.</summary>
    public static void StatsTube(IBufferWriter<byte> writer, TubeStats stats) => Ok(writer, StatsYaml.Tube(stats));

    /// <summary>The answer to stats.</summary>
    public static void Stats(IBufferWriter<byte> writer, ServerStats stats) => Ok(writer, StatsYaml.Server(stats));

    /// <summary>The answer to list-tubes and list-tubes-watched: the names as a YAML list, in the given order.</summary>
    public static void TubeList(IBufferWriter<byte> writer, IEnumerable<string> tubes) => Ok(writer, StatsYaml.List(tubes));

    // ------------------------------------------------------------- errors

    /// <summary><c>OUT_OF_MEMORY</c>.</summary>
    public static void OutOfMemory(IBufferWriter<byte> writer) => writer.Write("OUT_OF_MEMORY\r\n"u8);

    /// <summary><c>INTERNAL_ERROR</c>.</summary>
    public static void InternalError(IBufferWriter<byte> writer) => writer.Write("INTERNAL_ERROR\r\n"u8);

    /// <summary>The reply for an error <see cref="FrameReader"/> found.</summary>
    public static void Error(IBufferWriter<byte> writer, ProtocolError error) => writer.Write(error switch
    {
        ProtocolError.BadFormat => "BAD_FORMAT\r\n"u8,
        ProtocolError.UnknownCommand => "UNKNOWN_COMMAND\r\n"u8,
        ProtocolError.ExpectedCrlf => "EXPECTED_CRLF\r\n"u8,
        ProtocolError.JobTooBig => "JOB_TOO_BIG\r\n"u8,
        _ => throw new ArgumentOutOfRangeException(nameof(error), error, null),
    });

    // ------------------------------------------------------------- helpers

    /// <summary><c>&lt;word&gt;&lt;number&gt;\r\n</c>.</summary>
    private static void Line(IBufferWriter<byte> writer, ReadOnlySpan<byte> word, ulong number)
    {
        writer.Write(word);
        Number(writer, number);
        writer.Write("\r\n"u8);
    }

    /// <summary><c>&lt;word&gt;&lt;id&gt; &lt;bytes&gt;\r\n&lt;data&gt;\r\n</c>.</summary>
    private static void Job(IBufferWriter<byte> writer, ReadOnlySpan<byte> word, ulong id, ReadOnlySpan<byte> body)
    {
        writer.Write(word);
        Number(writer, id);
        writer.Write(" "u8);
        Number(writer, (ulong)body.Length);
        writer.Write("\r\n"u8);
        writer.Write(body);
        writer.Write("\r\n"u8);
    }

    private static void Number(IBufferWriter<byte> writer, ulong value)
    {
        var span = writer.GetSpan(20); // 2^64-1 has 20 digits
        value.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
        writer.Advance(written);
    }

    /// <summary>Tube names are ASCII (<see cref="TubeName"/>); anything else is a bug of the caller.</summary>
    private static void WriteName(IBufferWriter<byte> writer, string text)
    {
        var span = writer.GetSpan(text.Length);
        var status = Ascii.FromUtf16(text, span, out var written);
        if (status != OperationStatus.Done)
            throw new ArgumentException($"Not an ASCII name: {text}", nameof(text));
        writer.Advance(written);
    }
}
