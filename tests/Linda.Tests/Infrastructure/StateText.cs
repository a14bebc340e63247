using System.Globalization;
using System.Text;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// A queue's whole state as plain text, one line per job, so two states compare line by line and a
/// fixture's expected state can be read (and reviewed) as a file.
/// </summary>
public static class StateText
{
    public static string Render(JobQueueSnapshot s)
    {
        var sb = new StringBuilder();
        sb.Append("queue ").Append(s.Queue).Append(" now ").Append(T(s.Now)).Append(" next-seq ").Append(s.NextSeq)
            .Append(" bury-counter ").Append(s.BuryCounter).Append(" paused-until ").Append(T(s.PausedUntil)).Append('\n');
        foreach (var j in s.Jobs.OrderBy(j => j.Seq))
        {
            var job = j.Job;
            sb.Append("job ").Append(job.Id)
                .Append(" seq ").Append(j.Seq)
                .Append(' ').Append(j.State)
                .Append(" class ").Append(job.Payload.Class)
                .Append(job.Payload.IsRaw ? " raw " : " json ").Append(Convert.ToHexString(job.Payload.Body.Span))
                .Append(" pushed-priority ").Append(job.Priority)
                .Append(" ttr ").Append(job.TimeToRun.TotalSeconds.ToString(CultureInfo.InvariantCulture))
                .Append(" max-retries ").Append(job.MaxRetries?.ToString(CultureInfo.InvariantCulture) ?? "-")
                .Append(" period ").Append(job.Period?.TotalSeconds.ToString(CultureInfo.InvariantCulture) ?? "-")
                .Append(" created ").Append(T(job.CreatedAt))
                .Append(" | priority ").Append(j.Priority)
                .Append(" due ").Append(T(j.DueAt))
                .Append(" run-due ").Append(T(j.RunDueAt))
                .Append(" token ").Append(j.Token == 0 ? "-" : "set")
                .Append(" deadline ").Append(T(j.LeaseDeadline))
                .Append(" holder ").Append(j.Holder is null ? "-" : "set")
                .Append(" bury-order ").Append(j.BuryOrder)
                .Append(" attempts ").Append(j.Attempts)
                .Append(" reserves ").Append(j.Reserves)
                .Append(" timeouts ").Append(j.Timeouts)
                .Append(" releases ").Append(j.Releases)
                .Append(" buries ").Append(j.Buries)
                .Append(" kicks ").Append(j.Kicks)
                .Append(" delay ").Append(j.Delay.TotalSeconds.ToString(CultureInfo.InvariantCulture))
                .Append(" error ").Append(j.LastError is null ? "-" : "\"" + j.LastError + "\"")
                .Append('\n');
        }
        return sb.ToString();
    }

    private static string T(DateTimeOffset? t) =>
        t is { } v ? v.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture) : "-";
}
