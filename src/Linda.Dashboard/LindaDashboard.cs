using System.Net;
using System.Text.Json;
using Linda.Hosting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using static Linda.JobQueue;

namespace Linda.Dashboard;

/// <summary>
/// <c>app.MapLindaDashboard("/linda")</c>: Linda's JSON API under the prefix, shared by the dashboard's
/// pages, the <c>linda</c> CLI and users' scripts. Reads are GETs; every action is a POST that carries
/// an antiforgery token (from <c>GET {prefix}/api/antiforgery</c>, sent back in its header).
/// </summary>
public static class LindaDashboard
{
    /// <summary>Maps the dashboard under <paramref name="prefix"/>. Needs <c>AddLindaDashboard()</c> (or <c>AddAntiforgery()</c>) and <c>AddLindaClient()</c>.</summary>
    public static RouteGroupBuilder MapLindaDashboard(this IEndpointRouteBuilder app, string prefix = "/linda", Action<LindaDashboardOptions>? configure = null)
    {
        var options = new LindaDashboardOptions();
        configure?.Invoke(options);
        var group = app.MapGroup(prefix);
        if (options.Authorization is { } policy)
            group.RequireAuthorization(policy);
        else
            group.AddEndpointFilter(async (context, next) => IsLoopback(context.HttpContext)
                ? await next(context)
                : Results.Json(new ApiError("forbidden", "the Linda dashboard serves loopback requests only; set LindaDashboardOptions.Authorization to open it to others"), statusCode: 403));

        var api = group.MapGroup("/api");
        api.MapGet("/antiforgery", (HttpContext http, IAntiforgery antiforgery) =>
        {
            var tokens = antiforgery.GetAndStoreTokens(http);
            return Results.Json(new { token = tokens.RequestToken, header = tokens.HeaderName });
        });
        api.MapGet("/queues", async (ILindaClient client, CancellationToken ct) =>
        {
            var stats = await Task.WhenAll(client.Queues.Order(StringComparer.Ordinal).Select(q => client.GetStatsAsync(q, ct)));
            return Results.Json(stats.Select(r => r is QueueStats s ? QueueJson.Of(s) : (object)ApiError.Of(r)));
        });
        api.MapGet("/queues/{queue}", async (string queue, ILindaClient client, CancellationToken ct) =>
            Reply(await client.GetStatsAsync(queue, ct), r => QueueJson.Of((QueueStats)r)));
        api.MapGet("/queues/{queue}/jobs", async (string queue, string? state, string? after, int? limit, bool? reverse, ILindaClient client, CancellationToken ct) =>
        {
            if (!Enum.TryParse<JobState>(state ?? "ready", ignoreCase: true, out var s) || !Enum.IsDefined(s))
                return Results.Json(new ApiError("bad-state", $"state must be ready, delayed, reserved or buried, not '{state}'"), statusCode: 400);
            var reply = await client.SendAsync(queue, new ListJobs(s) { After = after, Limit = limit ?? 50, Reverse = reverse ?? false }, ct);
            return Reply(reply, r => JobListJson.Of((JobList)r));
        });
        api.MapGet("/jobs/{queue}/{id}", async (string queue, string id, ILindaClient client, CancellationToken ct) =>
            Reply(await client.GetJobAsync(queue, id, ct), r => JobJson.Of((JobView)r)));

        // Actions: POST, antiforgery-checked, refused in read-only mode.
        var actions = api.MapGroup("").AddEndpointFilter(async (context, next) =>
        {
            if (options.ReadOnly)
                return Results.Json(new ApiError("read-only", "the Linda dashboard is read-only"), statusCode: 403);
            var antiforgery = context.HttpContext.RequestServices.GetRequiredService<IAntiforgery>();
            if (!await antiforgery.IsRequestValidAsync(context.HttpContext))
                return Results.Json(new ApiError("antiforgery", $"an action needs the antiforgery token of GET {prefix}/api/antiforgery in its header"), statusCode: 400);
            return await next(context);
        });
        actions.MapPost("/queues/{queue}/kick", async (string queue, int? bound, ILindaClient client, CancellationToken ct) =>
            Reply(await client.KickAsync(queue, bound ?? 1, ct), r => new { kicked = ((Kicked)r).Count }));
        actions.MapPost("/queues/{queue}/kick-buried", async (string queue, ILindaClient client, CancellationToken ct) =>
        {
            var reply = await client.GetStatsAsync(queue, ct);
            if (reply is not QueueStats stats)
                return Reply(reply, r => r);
            return Reply(await client.KickAsync(queue, stats.Buried, ct), r => new { kicked = ((Kicked)r).Count });
        });
        actions.MapPost("/queues/{queue}/pause", async (string queue, double? seconds, ILindaClient client, CancellationToken ct) =>
        {
            if (seconds is not { } s || !double.IsFinite(s) || s <= 0)
                return Results.Json(new ApiError("bad-duration", "pause needs ?seconds=N, a positive number"), statusCode: 400);
            return Reply(await client.PauseAsync(queue, TimeSpan.FromSeconds(Math.Min(s, TimeSpan.MaxValue.TotalSeconds / 2)), ct), r => new { pausedUntil = ((Paused)r).Until });
        });
        actions.MapPost("/queues/{queue}/push", async (string queue, PushJson body, ILindaClient client, CancellationToken ct) =>
        {
            if (string.IsNullOrEmpty(body.Class))
                return Results.Json(new ApiError("bad-push", "a push needs {\"class\": ..., \"args\": [...]}"), statusCode: 400);
            if (body.Args is { ValueKind: not JsonValueKind.Array })
                return Results.Json(new ApiError("bad-push", "args must be a JSON array"), statusCode: 400);
            if (body.DelaySeconds is { } d && (!double.IsFinite(d) || Math.Abs(d) > TimeSpan.MaxValue.TotalSeconds / 2))
                return Results.Json(new ApiError("bad-push", $"delaySeconds must be a number of seconds, not {d}"), statusCode: 400);
            var payload = JobPayload.FromJson(body.Class, body.Args?.GetRawText() ?? "[]");
            // A negative delay goes to the queue as it is, which refuses it (InvalidDelay): no silent zero.
            var push = new Push(queue, payload) { Id = body.Id, Priority = body.Priority, Delay = TimeSpan.FromSeconds(body.DelaySeconds ?? 0) };
            return Reply(await client.PushAsync(push, ct), r => new { pushed = ((Pushed)r).JobId });
        });
        actions.MapPost("/queues/{queue}/resume", async (string queue, ILindaClient client, CancellationToken ct) =>
            Reply(await client.ResumeAsync(queue, ct), _ => new { resumed = true }));
        actions.MapPost("/jobs/{queue}/{id}/kick", async (string queue, string id, ILindaClient client, CancellationToken ct) =>
            Reply(await client.KickJobAsync(queue, id, ct), r => new { kicked = ((KickedJob)r).JobId }));
        actions.MapPost("/jobs/{queue}/{id}/delete", async (string queue, string id, ILindaClient client, CancellationToken ct) =>
            Reply(await client.DeleteAsync(queue, id, ct), r => new { deleted = ((Deleted)r).JobId }));
        return group;
    }

    /// <summary>Registers what the dashboard needs besides the Linda client: antiforgery.</summary>
    public static IServiceCollection AddLindaDashboard(this IServiceCollection services) => services.AddAntiforgery();

    /// <summary>True for a request from a loopback address (or without one: an in-process request).</summary>
    internal static bool IsLoopback(HttpContext http) =>
        http.Connection.RemoteIpAddress is not { } ip || IPAddress.IsLoopback(ip);

    // A queue's answer as HTTP: the success as JSON, a refusal with the status it means.
    private static IResult Reply(IReply reply, Func<IReply, object> success) => reply switch
    {
        IFailure f => Results.Json(ApiError.Of(f), statusCode: f switch
        {
            NotFound or NoJob => 404,
            Rejected { Reason: RejectReason.InvalidQueueName } => 404,
            Rejected => 400,
            Unavailable or WriteFailed => 503,
            _ => 409,
        }),
        _ => Results.Json(success(reply)),
    };
}

/// <summary>The body of a push: the handler class, its JSON args, and optionally an id, a priority and a delay.</summary>
internal sealed record PushJson(string? Class, JsonElement? Args, string? Id, uint? Priority, double? DelaySeconds);

/// <summary>An API error: a short code and what happened.</summary>
internal sealed record ApiError(string Error, string Message)
{
    public static ApiError Of(IReply reply) => reply is IFailure f
        ? new ApiError(JsonNamingPolicy.KebabCaseLower.ConvertName(f.GetType().Name), f.Message)
        : new ApiError("unexpected", reply.ToString() ?? "");
}

internal sealed record QueueJson(string Name, int Ready, int Urgent, int Delayed, int Reserved, int Buried, int Waiting, long TotalJobs,
    long LeaseTimeouts, DateTimeOffset? PausedUntil, IReadOnlyDictionary<string, long> Commands)
{
    public static QueueJson Of(QueueStats s) =>
        new(s.Queue, s.Ready, s.Urgent, s.Delayed, s.Reserved, s.Buried, s.Waiting, s.TotalJobs, s.JobTimeouts, s.PausedUntil, s.Commands);
}

internal sealed record JobJson(string Id, long Seq, string Queue, string State, string Class, JsonElement? Args, string? Bytes, uint Priority,
    DateTimeOffset? DueAt, DateTimeOffset? LeaseDeadline, int Attempt, int Reserves, int Timeouts, int Releases, int Buries, int Kicks,
    string? LastError, double TimeToRunSeconds, int? MaxRetries, double? PeriodSeconds, DateTimeOffset CreatedAt)
{
    public static JobJson Of(JobView v)
    {
        var p = v.Job.Payload;
        return new JobJson(v.Job.Id, v.Seq, v.Job.Queue, v.State.ToString().ToLowerInvariant(), p.Class,
            p.IsRaw ? null : p.ParseArgs(), p.IsRaw ? Convert.ToBase64String(p.Body.Span) : null, v.Priority, v.DueAt, v.LeaseDeadline,
            v.Attempt, v.Reserves, v.Timeouts, v.Releases, v.Buries, v.Kicks, v.LastError, v.Job.TimeToRun.TotalSeconds, v.Job.MaxRetries,
            v.Job.Period?.TotalSeconds, v.Job.CreatedAt);
    }
}

internal sealed record JobListJson(string State, IReadOnlyList<JobJson> Jobs, string? Next, int Total)
{
    public static JobListJson Of(JobList l) => new(l.State.ToString().ToLowerInvariant(), l.Jobs.Select(JobJson.Of).ToArray(), l.Next, l.Total);
}
