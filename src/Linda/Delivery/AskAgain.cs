using static Linda.JobQueue;

namespace Linda;

/// <summary>
/// The one policy for sending a command to a queue again while the queue moves: a queue that is
/// handing over to another node, or restarting after a failed write, answers <see cref="Unavailable"/>
/// (nothing changed), and the sender asks again after a pause that doubles, until the queue answers
/// anything else or the time is up. Workers, <c>ILindaClient</c> and the beanstalkd front end all ask
/// through it. Read from <c>linda.delivery</c> (see <c>hocon/linda.conf</c>).
/// </summary>
public sealed record AskAgain
{
    /// <summary>The pause before the first retry. <b>Default:</b> 20 ms.</summary>
    public TimeSpan FirstPause { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>The longest pause between retries. <b>Default:</b> 500 ms.</summary>
    public TimeSpan MaxPause { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long to keep asking, from the first attempt (longer than a failover). <b>Default:</b> 60 s.</summary>
    public TimeSpan GiveUpAfter { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The defaults.</summary>
    public static AskAgain Default { get; } = new();

    /// <summary>
    /// Runs <paramref name="attempt"/> (one send and its wait: the reply, or null when none came in
    /// time) until its reply is not <see cref="Unavailable"/>, or the time is up, and returns the last
    /// reply. With <paramref name="retryWithoutAnswer"/> an attempt without an answer is retried too:
    /// only for commands that do no harm when they arrive twice (a verdict: the second is refused,
    /// changing nothing). Exceptions of an attempt are not caught.
    /// </summary>
    public async Task<IReply?> AskAsync(Func<CancellationToken, Task<IReply?>> attempt, TimeProvider time,
        CancellationToken cancellationToken = default, bool retryWithoutAnswer = false)
    {
        var giveUpAt = time.GetUtcNow() + GiveUpAfter;
        var pause = FirstPause;
        while (true)
        {
            var reply = await attempt(cancellationToken);
            var again = reply is Unavailable || (reply is null && retryWithoutAnswer);
            if (!again || time.GetUtcNow() + pause >= giveUpAt)
                return reply;
            await Task.Delay(pause, time, cancellationToken);
            pause = pause * 2 < MaxPause ? pause * 2 : MaxPause;
        }
    }
}
