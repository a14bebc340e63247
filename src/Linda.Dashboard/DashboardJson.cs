using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using static Linda.JobQueue;

namespace Linda.Dashboard;

/// <summary>The body of a push: the handler class, its JSON args, and optionally an id, a priority and a delay.</summary>
internal sealed record PushJson(string? Class, JsonElement? Args, string? Id, uint? Priority, double? DelaySeconds);

/// <summary>An API error: a short code and what happened.</summary>
internal sealed record ApiError(string Error, string Message)
{
    public static ApiError Of(IReply reply) => reply is IFailure f
        ? new ApiError(JsonNamingPolicy.KebabCaseLower.ConvertName(f.GetType().Name), f.Message)
        : new ApiError("unexpected", reply.ToString() ?? "");
}

/// <summary>
/// A queue's counts as the API shows them, with where it runs (its node's address) when known. A
/// partitioned queue's are its partitions' added up; its <see cref="Node"/> is null (its partitions run
/// on nodes of their own) and <see cref="Partitions"/> has each partition's entry, in order. For any
/// other queue (and for a partition) there is no <c>partitions</c> key.
/// </summary>
internal sealed record QueueJson(string Name, int Ready, int Urgent, int Delayed, int Reserved, int Buried, int Waiting, long TotalJobs,
    long LeaseTimeouts, DateTimeOffset? PausedUntil, double LagSeconds, long Completed, long Failures, long Cancelled, string? Node,
    IReadOnlyDictionary<string, long> Commands)
{
    /// <summary>A partitioned queue's partitions: each a <see cref="QueueJson"/>, or a <see cref="QueueErrorJson"/> when it didn't answer.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<object>? Partitions { get; init; }

    public static QueueJson Of(QueueStats s, string? node = null) =>
        new(s.Queue, s.Ready, s.Urgent, s.Delayed, s.Reserved, s.Buried, s.Waiting, s.TotalJobs, s.JobTimeouts, s.PausedUntil,
            s.Lag.TotalSeconds, s.Commands.GetValueOrDefault("complete"), s.Failures, s.Cancelled, node, s.Commands);
}

/// <summary>A queue (or partition) that did not answer, in a listing: its name and why; a partitioned queue's with its partitions' entries.</summary>
internal sealed record QueueErrorJson(string Name, ApiError Error)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<object>? Partitions { get; init; }
}

/// <summary>A job in full as the API shows it: args as JSON (or the bytes in base64), every counter, its lease holder and node.</summary>
internal sealed record JobJson(string Id, long Seq, string Queue, string State, string Class, JsonElement? Args, string? Bytes, uint Priority,
    DateTimeOffset? DueAt, DateTimeOffset? LeaseDeadline, string? Holder, string? HolderNode, bool CancelRequested, int Attempt, int Reserves, int Timeouts,
    int Releases, int Buries, int Kicks, string? LastError, double TimeToRunSeconds, int? MaxRetries, double? PeriodSeconds,
    double DelaySeconds, DateTimeOffset CreatedAt, string? UniqueKey, double? UniqueForSeconds, double? TimeoutSeconds,
    int? Progress, string? ProgressMessage, DateTimeOffset? ProgressAt)
{
    public static JobJson Of(JobView v)
    {
        var p = v.Job.Payload;
        return new JobJson(v.Job.Id, v.Seq, v.Job.Queue, v.State.ToString().ToLowerInvariant(), p.Class,
            p.IsRaw ? null : p.ParseArgs(), p.IsRaw ? Convert.ToBase64String(p.Body.Span) : null, v.Priority, v.DueAt, v.LeaseDeadline,
            v.Holder, NodeOf(v.Holder), v.CancelRequested, v.Attempt, v.Reserves, v.Timeouts, v.Releases, v.Buries, v.Kicks, v.LastError,
            v.Job.TimeToRun.TotalSeconds, v.Job.MaxRetries, v.Job.Period?.TotalSeconds, v.Delay.TotalSeconds, v.Job.CreatedAt,
            v.Job.UniqueKey, v.Job.UniqueFor?.TotalSeconds, v.Job.Timeout?.TotalSeconds, v.Progress, v.ProgressMessage, v.ProgressAt);
    }

    // The node of an actor path ("akka.tcp://linda@host:port/user/..." gives "akka.tcp://linda@host:port").
    private static string? NodeOf(string? path) =>
        path is not null && ActorPath.TryParse(path, out var parsed) ? parsed.Address.ToString() : null;
}

internal sealed record JobListJson(string State, IReadOnlyList<JobJson> Jobs, string? Next, int Total)
{
    public static JobListJson Of(JobList l) => new(l.State.ToString().ToLowerInvariant(), l.Jobs.Select(JobJson.Of).ToArray(), l.Next, l.Total);
}

/// <summary>A schedule as the API shows it: its rule and what it did.</summary>
internal sealed record ScheduleJson(string Id, string Cron, string TimeZone, string Class, string Misfire, string Overlap, DateTimeOffset? NextRunAt,
    DateTimeOffset? PendingSince, string? LastJobId, DateTimeOffset? LastRunAt, long Runs, long Skipped)
{
    public static ScheduleJson Of(ScheduleView v)
    {
        var d = v.Definition;
        return new ScheduleJson(d.ScheduleId, d.Cron, d.TimeZone, d.Payload.Class, d.Misfire.ToString(), d.Overlap.ToString(), v.NextRunAt,
            v.PendingSince, v.LastJobId, v.LastRunAt, v.Runs, v.Skipped);
    }
}
