namespace Linda.Beanstalk.Protocol;

/// <summary>
/// What <see cref="FrameReader.Read"/> found at the start of the bytes it was given: a
/// <see cref="Command"/>, a <see cref="ProtocolError"/> to reply with, or neither (more data needed).
/// <see cref="Consumed"/> bytes are used up in every case, even when more data is needed (the reader
/// may have skipped an over-long line or a too-big job body): slice them off before the next call.
/// </summary>
/// <param name="Command">The next command, or <c>null</c>.</param>
/// <param name="Error">The error reply owed to the client, or <c>null</c>.</param>
/// <param name="Consumed">How many bytes from the start of the buffer were used up.</param>
public readonly record struct Frame(Command? Command, ProtocolError? Error, long Consumed)
{
    /// <summary>Nothing complete yet: read more bytes, then call again with what is left.</summary>
    public bool NeedsMoreData => Command is null && Error is null;

    internal static Frame Of(Command command, long consumed) => new(command, null, consumed);

    internal static Frame Of(ProtocolError error, long consumed) => new(null, error, consumed);

    internal static Frame More(long consumed) => new(null, null, consumed);
}
