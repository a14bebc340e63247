namespace Linda.Beanstalk.Protocol;

/// <summary>
/// The replies beanstalkd gives to input it cannot take as a command; <see cref="FrameReader"/> returns
/// them and <see cref="Replies.Error"/> writes them. Nothing changes on the server for any of them.
/// </summary>
public enum ProtocolError
{
    /// <summary>
    /// <c>BAD_FORMAT</c>: a known command with wrong arguments (missing, extra, non-digits, out of range, a bad
    /// tube name), a NUL byte in the line, or a line longer than 224 bytes with its CRLF.
    /// </summary>
    BadFormat,

    /// <summary><c>UNKNOWN_COMMAND</c>: the line starts with no command's name (an empty line included).</summary>
    UnknownCommand,

    /// <summary><c>EXPECTED_CRLF</c>: a put's body was not followed by <c>\r\n</c>; the job is dropped.</summary>
    ExpectedCrlf,

    /// <summary><c>JOB_TOO_BIG</c>: a put announced more bytes than the maximum job size; sent once the body is skipped.</summary>
    JobTooBig,
}
