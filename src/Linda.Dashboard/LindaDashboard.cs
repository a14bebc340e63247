using System.Net;
using System.Text.Json;
using Akka.Actor;
using Linda.Hosting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
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

        DashboardPages.Map(group, prefix, options);

        var api = group.MapGroup("/api");
        api.MapGet("/antiforgery", (HttpContext http, IAntiforgery antiforgery) =>
        {
            var tokens = antiforgery.GetAndStoreTokens(http);
            return Results.Json(new { token = tokens.RequestToken, header = tokens.HeaderName });
        });
        api.MapGet("/queues", async (ILindaClient client, ActorSystem system, CancellationToken ct) =>
        {
            var queues = await Task.WhenAll(client.Queues.Order(StringComparer.Ordinal).Select(async q => (Name: q, Answer: await QueueViews.GetAsync(client, system, q, ct))));
            return Results.Json(queues.Select(q => q.Answer.Entry(q.Name)));
        });
        api.MapGet("/queues/{queue}", async (string queue, ILindaClient client, ActorSystem system, CancellationToken ct) =>
        {
            var answer = await QueueViews.GetAsync(client, system, queue, ct);
            return answer.Json is not null ? Results.Json(answer.Json) : Reply(answer.Failure!, r => r);
        });
        api.MapGet("/history", (ThroughputHistory history) => Results.Json(new
        {
            intervalSeconds = ThroughputHistory.Interval.TotalSeconds,
            queues = history.Points(),
        }));
        api.MapGet("/cluster", async (ActorSystem system, ILindaClient client, CancellationToken ct) =>
            Results.Json(await ClusterView.GetAsync(system, client, ct)));
        api.MapGet("/queues/{queue}/jobs", async (string queue, string? state, string? after, int? limit, bool? reverse, ILindaClient client, CancellationToken ct) =>
        {
            if (!Enum.TryParse<JobState>(state ?? "ready", ignoreCase: true, out var s) || !Enum.IsDefined(s))
                return Results.Json(new ApiError("bad-state", $"state must be ready, delayed, reserved or buried, not '{state}'"), statusCode: 400);
            var reply = await client.SendAsync(queue, new ListJobs(s) { After = after, Limit = limit ?? 50, Reverse = reverse ?? false }, ct);
            return Reply(reply, r => JobListJson.Of((JobList)r));
        });
        api.MapGet("/queues/{queue}/schedules", async (string queue, ILindaClient client, CancellationToken ct) =>
            Reply(await client.GetSchedulesAsync(queue, ct), r => ((ScheduleList)r).Schedules.Select(ScheduleJson.Of).ToArray()));
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
        actions.MapPost("/jobs/{queue}/{id}/cancel", async (string queue, string id, ILindaClient client, CancellationToken ct) =>
            Reply(await client.CancelAsync(queue, id, ct), r => new { cancelled = ((Cancelled)r).JobId, wasRunning = ((Cancelled)r).WasRunning }));
        actions.MapPost("/jobs/{queue}/{id}/delete", async (string queue, string id, ILindaClient client, CancellationToken ct) =>
            Reply(await client.DeleteAsync(queue, id, ct), r => new { deleted = ((Deleted)r).JobId }));
        return group;
    }

    /// <summary>
    /// Registers what the dashboard needs besides the Linda client: antiforgery, and the sampler of each
    /// queue's throughput for the overview's chart (a stats question per queue every two seconds).
    /// </summary>
    public static IServiceCollection AddLindaDashboard(this IServiceCollection services)
    {
        services.AddAntiforgery();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ThroughputHistory>();
        services.AddHostedService(sp => sp.GetRequiredService<ThroughputHistory>());
        return services;
    }

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

