using System.Text.Json;
using StackExchange.Redis;

namespace Linda.Tests.Infrastructure;

/// <summary>
/// What the Go Linda's Push or Later writes to Redis (tests/go-producer/push_jobs.sh writes the same with
/// redis-cli): the job's record under <c>linda:job:&lt;id&gt;:info</c> (the Go <c>Job</c> marshalled by
/// encoding/json), then its id RPUSHed to <c>queue:&lt;q&gt;</c>, or added to <c>queue:&lt;q&gt;:delayed</c>
/// with its due time in seconds.
/// </summary>
public static class GoProducer
{
    /// <summary>The Go <c>Job</c> as JSON.</summary>
    public static string Record(string id, string queue, string cls, object[] args, long period = 0, int retry = 0) =>
        JsonSerializer.Serialize(new
        {
            id, queue, period, retry, created_at = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
            payload = new { @class = cls, args },
            state = new { run_times = 0, last_run_at = "0001-01-01T00:00:00Z", retries = 0 },
        });

    /// <summary>Writes the record, then the id to the ready list, or to the delayed set when <paramref name="due"/> is given.</summary>
    public static async Task PushAsync(IDatabase db, string queue, string id, string cls, object[] args, long period = 0, int retry = 0, DateTimeOffset? due = null)
    {
        await db.StringSetAsync(InfoKey(id), Record(id, queue, cls, args, period, retry));
        if (due is { } d)
            await db.SortedSetAddAsync($"queue:{queue}:delayed", id, d.ToUnixTimeSeconds());
        else
            await db.ListRightPushAsync($"queue:{queue}", id);
    }

    /// <summary>Where the Go Linda keeps a job's record.</summary>
    public static string InfoKey(string id) => $"linda:job:{id}:info";
}
