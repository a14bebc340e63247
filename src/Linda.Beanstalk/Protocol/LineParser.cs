using System.Text;
using static Linda.Beanstalk.Protocol.CNumbers;

namespace Linda.Beanstalk.Protocol;

/// <summary>
/// Parses one command line (its CRLF already cut off) the way beanstalkd 1.12's <c>dispatch_cmd</c>
/// does. Commands are told apart by prefix, in beanstalkd's order (<c>which_cmd</c>), so a line is
/// <c>UNKNOWN_COMMAND</c> only when no prefix matches: <c>delete\r\n</c> is unknown but
/// <c>delete \r\n</c> is a bad format, <c>reservex\r\n</c> is a <c>reserve</c> with trailing garbage
/// (bad format), <c>quitx\r\n</c> quits and <c>pause-tubefoo 1\r\n</c> pauses <c>foo</c>.
/// </summary>
internal static class LineParser
{
    private static readonly Command.Reserve ReserveCommand = new();
    private static readonly Command.PeekReady PeekReadyCommand = new();
    private static readonly Command.PeekDelayed PeekDelayedCommand = new();
    private static readonly Command.PeekBuried PeekBuriedCommand = new();
    private static readonly Command.Stats StatsCommand = new();
    private static readonly Command.ListTubes ListTubesCommand = new();
    private static readonly Command.ListTubeUsed ListTubeUsedCommand = new();
    private static readonly Command.ListTubesWatched ListTubesWatchedCommand = new();
    private static readonly Command.Quit QuitCommand = new();

    private static ParsedLine Bad => ParsedLine.Of(ProtocolError.BadFormat);

    public static ParsedLine Parse(ReadOnlySpan<byte> line)
    {
        // beanstalkd NUL-terminates the line and checks strlen against its length ("possible maliciousness").
        if (line.Contains((byte)0))
            return Bad;

        if (line.StartsWith("put "u8)) return ParsePut(line[4..]);
        if (line.StartsWith("peek "u8)) return Id(line[5..], id => new Command.Peek(id));
        if (line.StartsWith("peek-ready"u8)) return Alone(line, "peek-ready"u8, PeekReadyCommand);
        if (line.StartsWith("peek-delayed"u8)) return Alone(line, "peek-delayed"u8, PeekDelayedCommand);
        if (line.StartsWith("peek-buried"u8)) return Alone(line, "peek-buried"u8, PeekBuriedCommand);
        if (line.StartsWith("reserve-with-timeout "u8)) return ParseReserveWithTimeout(line[21..]);
        if (line.StartsWith("reserve-job "u8)) return Id(line[12..], id => new Command.ReserveJob(id));
        if (line.StartsWith("reserve"u8)) return Alone(line, "reserve"u8, ReserveCommand);
        if (line.StartsWith("delete "u8)) return Id(line[7..], id => new Command.Delete(id));
        if (line.StartsWith("release "u8)) return ParseRelease(line[8..]);
        if (line.StartsWith("bury "u8)) return ParseBury(line[5..]);
        if (line.StartsWith("kick "u8)) return ParseKick(line[5..]);
        if (line.StartsWith("kick-job "u8)) return Id(line[9..], id => new Command.KickJob(id));
        if (line.StartsWith("touch "u8)) return Id(line[6..], id => new Command.Touch(id));
        if (line.StartsWith("stats-job "u8)) return Id(line[10..], id => new Command.StatsJob(id));
        if (line.StartsWith("stats-tube "u8)) return Tube(line[11..], tube => new Command.StatsTube(tube));
        if (line.StartsWith("stats"u8)) return Alone(line, "stats"u8, StatsCommand);
        if (line.StartsWith("use "u8)) return Tube(line[4..], tube => new Command.Use(tube));
        if (line.StartsWith("watch "u8)) return Tube(line[6..], tube => new Command.Watch(tube));
        if (line.StartsWith("ignore "u8)) return Tube(line[7..], tube => new Command.Ignore(tube));
        if (line.StartsWith("list-tubes-watched"u8)) return Alone(line, "list-tubes-watched"u8, ListTubesWatchedCommand);
        if (line.StartsWith("list-tube-used"u8)) return Alone(line, "list-tube-used"u8, ListTubeUsedCommand);
        if (line.StartsWith("list-tubes"u8)) return Alone(line, "list-tubes"u8, ListTubesCommand);
        if (line.StartsWith("quit"u8)) return ParsedLine.Of(QuitCommand); // beanstalkd ignores whatever follows
        if (line.StartsWith("pause-tube"u8)) return ParsePauseTube(line[10..]);
        return ParsedLine.Of(ProtocolError.UnknownCommand);
    }

    /// <summary>A command without arguments: nothing may follow its name, not even a space.</summary>
    private static ParsedLine Alone(ReadOnlySpan<byte> line, ReadOnlySpan<byte> name, Command command) =>
        line.Length == name.Length ? ParsedLine.Of(command) : Bad;

    private static ParsedLine Id(ReadOnlySpan<byte> args, Func<ulong, Command> make) =>
        ReadU64Exact(args, out var id) ? ParsedLine.Of(make(id)) : Bad;

    /// <summary>The whole rest of the line is the name: a second space or a trailing one makes it invalid.</summary>
    private static ParsedLine Tube(ReadOnlySpan<byte> args, Func<string, Command> make) =>
        TubeName.IsValid(args) ? ParsedLine.Of(make(Encoding.ASCII.GetString(args))) : Bad;

    private static ParsedLine ParsePut(ReadOnlySpan<byte> args)
    {
        if (!ReadU32(args, out var priority, out var rest)
            || !ReadU32(rest, out var delay, out rest)
            || !ReadU32(rest, out var ttr, out rest)
            || !ReadU32(rest, out var size, out rest))
            return Bad;
        // The trailing-garbage check comes after the size check in beanstalkd (JOB_TOO_BIG wins), so the
        // reader decides; ttr 0 is raised to 1 second.
        return ParsedLine.Of(new PutHeader(priority, delay, Math.Max(ttr, 1u), size, TrailingGarbage: !rest.IsEmpty));
    }

    private static ParsedLine ParseReserveWithTimeout(ReadOnlySpan<byte> args) =>
        StrToLongAsInt(args, out var timeout) ? ParsedLine.Of(new Command.ReserveWithTimeout(timeout)) : Bad;

    private static ParsedLine ParseRelease(ReadOnlySpan<byte> args) =>
        ReadU64(args, out var id, out var rest) && ReadU32(rest, out var priority, out rest) && ReadU32Exact(rest, out var delay)
            ? ParsedLine.Of(new Command.Release(id, priority, delay))
            : Bad;

    private static ParsedLine ParseBury(ReadOnlySpan<byte> args) =>
        ReadU64(args, out var id, out var rest) && ReadU32Exact(rest, out var priority)
            ? ParsedLine.Of(new Command.Bury(id, priority))
            : Bad;

    private static ParsedLine ParseKick(ReadOnlySpan<byte> args) =>
        StrToULongAsUInt(args, out var bound) ? ParsedLine.Of(new Command.Kick(bound)) : Bad;

    /// <summary>
    /// beanstalkd's <c>read_tube_name</c>: spaces, then the longest run of name characters, then the delay;
    /// only then is the name checked (length, leading '-'). No space is needed after <c>pause-tube</c>.
    /// </summary>
    private static ParsedLine ParsePauseTube(ReadOnlySpan<byte> args)
    {
        var start = 0;
        while (start < args.Length && args[start] == (byte)' ')
            start++;
        var name = args[start..];
        var length = TubeName.NameCharCount(name);
        if (length == 0 || !ReadU32Exact(name[length..], out var delay))
            return Bad;
        name = name[..length];
        return TubeName.IsValid(name) ? ParsedLine.Of(new Command.PauseTube(Encoding.ASCII.GetString(name), delay)) : Bad;
    }
}

/// <summary>A put's command line: the body (<see cref="BodySize"/> bytes, then CRLF) is still to come.</summary>
internal readonly record struct PutHeader(uint Priority, uint DelaySeconds, uint TtrSeconds, uint BodySize, bool TrailingGarbage);

/// <summary>What one command line is: a command, an error reply, or a put whose body follows.</summary>
internal readonly record struct ParsedLine(Command? Command, ProtocolError? Error, PutHeader? Put)
{
    public static ParsedLine Of(Command command) => new(command, null, null);

    public static ParsedLine Of(ProtocolError error) => new(null, error, null);

    public static ParsedLine Of(PutHeader put) => new(null, null, put);
}
