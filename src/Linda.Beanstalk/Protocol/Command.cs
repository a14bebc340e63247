namespace Linda.Beanstalk.Protocol;

/// <summary>
/// A beanstalkd 1.12 command, as <see cref="FrameReader"/> parses it off the wire: one sealed record per
/// command of the protocol (doc/protocol.txt). The values are the ones beanstalkd acts on (a
/// <c>ttr</c> of 0 is already raised to 1); whether a job or tube exists is the server's business.
/// Integers keep beanstalkd's widths: job ids are 64-bit, priorities, delays and ttrs 32-bit.
/// </summary>
public abstract record Command
{
    // Closed hierarchy: every command is one of the records below.
    private Command() { }

    // ------------------------------------------------------------- producer commands

    /// <summary>
    /// <c>put &lt;pri&gt; &lt;delay&gt; &lt;ttr&gt; &lt;bytes&gt;\r\n&lt;data&gt;\r\n</c>: a job into the used tube.
    /// Answered <c>INSERTED &lt;id&gt;</c>, <c>BURIED &lt;id&gt;</c>, <c>DRAINING</c>; the framing errors
    /// <c>EXPECTED_CRLF</c> and <c>JOB_TOO_BIG</c> come from <see cref="FrameReader"/> instead.
    /// </summary>
    /// <param name="Priority">0 is the most urgent.</param>
    /// <param name="DelaySeconds">Seconds in the delayed state before the job is ready.</param>
    /// <param name="TtrSeconds">Time to run, at least 1: beanstalkd silently raises 0 to 1.</param>
    /// <param name="Body">
    /// The job body, exactly as sent (binary; CR and LF inside are kept). A fresh array owned by the
    /// command; like any array it takes part in the record's equality by reference.
    /// </param>
    public sealed record Put(uint Priority, uint DelaySeconds, uint TtrSeconds, byte[] Body) : Command;

    /// <summary><c>use &lt;tube&gt;</c>: later puts go to this tube. Answered <c>USING &lt;tube&gt;</c>.</summary>
    public sealed record Use(string Tube) : Command;

    // ------------------------------------------------------------- worker commands

    /// <summary><c>reserve</c>: waits for a job of a watched tube. Answered <c>RESERVED</c> or <c>DEADLINE_SOON</c>.</summary>
    public sealed record Reserve() : Command;

    /// <summary>
    /// <c>reserve-with-timeout &lt;seconds&gt;</c>: <see cref="Reserve"/> that gives up with <c>TIMED_OUT</c>.
    /// </summary>
    /// <param name="TimeoutSeconds">
    /// As beanstalkd reads it (C <c>strtol</c> then a cast to <c>int</c>): leading white space and a sign are
    /// allowed, trailing text is ignored, no digits at all means 0, and values wrap modulo 2^32
    /// (4294967296 is 0). A negative timeout waits for ever, like <see cref="Reserve"/>.
    /// </param>
    public sealed record ReserveWithTimeout(int TimeoutSeconds) : Command;

    /// <summary><c>reserve-job &lt;id&gt;</c>: reserves that job if it is ready, delayed or buried.</summary>
    public sealed record ReserveJob(ulong Id) : Command;

    /// <summary><c>delete &lt;id&gt;</c>. Answered <c>DELETED</c> or <c>NOT_FOUND</c>.</summary>
    public sealed record Delete(ulong Id) : Command;

    /// <summary><c>release &lt;id&gt; &lt;pri&gt; &lt;delay&gt;</c>. Answered <c>RELEASED</c>, <c>BURIED</c> or <c>NOT_FOUND</c>.</summary>
    public sealed record Release(ulong Id, uint Priority, uint DelaySeconds) : Command;

    /// <summary><c>bury &lt;id&gt; &lt;pri&gt;</c>. Answered <c>BURIED</c> or <c>NOT_FOUND</c>.</summary>
    public sealed record Bury(ulong Id, uint Priority) : Command;

    /// <summary><c>touch &lt;id&gt;</c>: a reserved job's ttr starts again. Answered <c>TOUCHED</c> or <c>NOT_FOUND</c>.</summary>
    public sealed record Touch(ulong Id) : Command;

    /// <summary><c>watch &lt;tube&gt;</c>. Answered <c>WATCHING &lt;count&gt;</c>.</summary>
    public sealed record Watch(string Tube) : Command;

    /// <summary><c>ignore &lt;tube&gt;</c>. Answered <c>WATCHING &lt;count&gt;</c> or <c>NOT_IGNORED</c>.</summary>
    public sealed record Ignore(string Tube) : Command;

    // ------------------------------------------------------------- other commands

    /// <summary><c>peek &lt;id&gt;</c>. Answered <c>FOUND</c> or <c>NOT_FOUND</c>.</summary>
    public sealed record Peek(ulong Id) : Command;

    /// <summary><c>peek-ready</c>: the next ready job of the used tube.</summary>
    public sealed record PeekReady() : Command;

    /// <summary><c>peek-delayed</c>: the delayed job of the used tube with the shortest delay left.</summary>
    public sealed record PeekDelayed() : Command;

    /// <summary><c>peek-buried</c>: the oldest buried job of the used tube.</summary>
    public sealed record PeekBuried() : Command;

    /// <summary><c>kick &lt;bound&gt;</c>: up to <paramref name="Bound"/> buried jobs (or, if none, delayed jobs) of the used tube to ready.</summary>
    /// <param name="Bound">
    /// As beanstalkd reads it (C <c>strtoul</c> then a cast to <c>unsigned int</c>): leading white space and
    /// a sign are allowed, trailing text is ignored, values wrap modulo 2^32 (<c>kick -1</c> is 4294967295).
    /// </param>
    public sealed record Kick(uint Bound) : Command;

    /// <summary><c>kick-job &lt;id&gt;</c>. Answered <c>KICKED</c> or <c>NOT_FOUND</c>.</summary>
    public sealed record KickJob(ulong Id) : Command;

    /// <summary><c>stats-job &lt;id&gt;</c>. Answered <c>OK</c> with <see cref="JobStats"/> or <c>NOT_FOUND</c>.</summary>
    public sealed record StatsJob(ulong Id) : Command;

    /// <summary><c>stats-tube &lt;tube&gt;</c>. Answered <c>OK</c> with <see cref="TubeStats"/> or <c>NOT_FOUND</c>.</summary>
    public sealed record StatsTube(string Tube) : Command;

    /// <summary><c>stats</c>. Answered <c>OK</c> with <see cref="ServerStats"/>.</summary>
    public sealed record Stats() : Command;

    /// <summary><c>list-tubes</c>. Answered <c>OK</c> with a YAML list of every tube.</summary>
    public sealed record ListTubes() : Command;

    /// <summary><c>list-tube-used</c>. Answered <c>USING &lt;tube&gt;</c>.</summary>
    public sealed record ListTubeUsed() : Command;

    /// <summary><c>list-tubes-watched</c>. Answered <c>OK</c> with a YAML list of the watched tubes.</summary>
    public sealed record ListTubesWatched() : Command;

    /// <summary><c>pause-tube &lt;tube&gt; &lt;delay&gt;</c>. Answered <c>PAUSED</c> or <c>NOT_FOUND</c>.</summary>
    /// <param name="Tube">The tube to pause.</param>
    /// <param name="DelaySeconds">
    /// As sent. beanstalkd turns 0 into one <i>nanosecond</i> (stats-tube then shows <c>pause: 0</c>), which
    /// is no pause at all.
    /// </param>
    public sealed record PauseTube(string Tube, uint DelaySeconds) : Command;

    /// <summary><c>quit</c>: the server closes the connection without a reply.</summary>
    public sealed record Quit() : Command;
}
