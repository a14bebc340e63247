using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Linda.Dashboard;
using Linda.Hosting;
using Linda.Dashboard.Tests.Infrastructure;
using Linda.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Dashboard.Tests;

/// <summary>
/// The dashboard's JSON API on a real Kestrel server on a free loopback port, in an ASP.NET Core app
/// that runs WithLinda on a one-node cluster (SQLite file; Akka's default cluster profile), driven by
/// a real HTTP client: listings, a job in full, each action with its antiforgery token, and each refusal.
/// </summary>
[Collection(WebCollection.Name)]
public sealed class DashboardApiSpec : IAsyncLifetime
{
    private const string Q = "dash";
    private readonly TempFolder _folder = new();
    private WebApplication _app = null!;
    private HttpClient _http = null!;
    private ILindaClient _linda = null!;

    private async Task<WebApplication> StartAsync(Action<LindaDashboardOptions>? configure = null)
    {
        var (app, dashboard) = await LindaWebApp.StartAsync("dash",
            new LindaOptions { Queues = [Q, "other"], WorkerRole = "no-workers-here", SqlitePath = _folder.File("linda.db") }, dashboard: configure);
        _http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(dashboard, "api/") };
        _linda = app.Services.GetRequiredService<ILindaClient>();
        return app;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        _folder.Dispose();
    }

    private async Task<JsonElement> Get(string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await _http.GetAsync(path);
        Assert.Equal(expected, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<JsonElement> Post(string path, HttpStatusCode expected = HttpStatusCode.OK, bool withToken = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (withToken)
        {
            var af = await Get("antiforgery");
            request.Headers.Add(af.GetProperty("header").GetString()!, af.GetProperty("token").GetString());
        }
        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(expected == response.StatusCode, $"POST {path}: {(int)response.StatusCode} {body}");
        return body;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostJson(string path, string json)
    {
        var af = await Get("antiforgery");
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add(af.GetProperty("header").GetString()!, af.GetProperty("token").GetString());
        using var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    [Fact]
    public async Task A_push_is_taken_as_given_and_a_bad_one_is_refused_with_the_queues_reason()
    {
        _app = await StartAsync();
        var (status, body) = await PostJson($"queues/{Q}/push", """{"class": "mail", "args": ["x"], "id": "later", "delaySeconds": 30}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("later", body.GetProperty("pushed").GetString());
        Assert.Equal("delayed", (await Get($"jobs/{Q}/later")).GetProperty("state").GetString());

        (status, body) = await PostJson($"queues/{Q}/push", """{"class": "mail", "delaySeconds": -5}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("rejected", body.GetProperty("error").GetString());
        (status, _) = await PostJson($"queues/{Q}/push", """{"class": "mail", "args": {"not": "an array"}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(1, (await Get($"queues/{Q}")).GetProperty("totalJobs").GetInt64());
    }

    private async Task<string> Bury(string id)
    {
        Assert.IsType<Pushed>(await _linda.PushAsync(Q, JobPayload.Create("mail", "ada@example.com", 3), id));
        var reserved = Assert.IsType<Reserved>(await _linda.SendAsync(Q, new ReserveJob(id)));
        Assert.IsType<Buried>(await _linda.SendAsync(Q, new Bury(id, reserved.Token, "smtp said no")));
        return id;
    }

    [Fact]
    public async Task Queues_their_jobs_and_a_job_in_full_are_listed()
    {
        _app = await StartAsync();
        for (var i = 0; i < 3; i++)
            await _linda.PushAsync(Q, JobPayload.Create("mail", i), $"m{i}");
        await Bury("poison");

        var queues = await Get("queues");
        Assert.Equal(["dash", "other"], queues.EnumerateArray().Select(q => q.GetProperty("name").GetString()));
        var dash = queues[0];
        Assert.Equal(3, dash.GetProperty("ready").GetInt32());
        Assert.Equal(1, dash.GetProperty("buried").GetInt32());

        var page = await Get($"queues/{Q}/jobs?state=ready&limit=2");
        Assert.Equal(["m0", "m1"], page.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetString()));
        Assert.Equal(3, page.GetProperty("total").GetInt32());
        var next = await Get($"queues/{Q}/jobs?state=ready&limit=2&after={page.GetProperty("next").GetString()}");
        Assert.Equal(["m2"], next.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetString()));

        var job = await Get($"jobs/{Q}/poison");
        Assert.Equal("buried", job.GetProperty("state").GetString());
        Assert.Equal("mail", job.GetProperty("class").GetString());
        Assert.Equal("ada@example.com", job.GetProperty("args")[0].GetString());
        Assert.Equal("smtp said no", job.GetProperty("lastError").GetString());
        Assert.Equal(1, job.GetProperty("attempt").GetInt32());

        Assert.Equal("not-found", (await Get($"jobs/{Q}/nothing", HttpStatusCode.NotFound)).GetProperty("error").GetString());
        Assert.Equal("bad-state", (await Get($"queues/{Q}/jobs?state=lost", HttpStatusCode.BadRequest)).GetProperty("error").GetString());
        Assert.Equal("rejected", (await Get($"queues/{Q}/jobs?after=nonsense", HttpStatusCode.BadRequest)).GetProperty("error").GetString());
        await Get("queues/nowhere", HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Actions_kick_delete_pause_and_resume_with_their_token_and_are_refused_without_it()
    {
        _app = await StartAsync();
        await Bury("a");
        await Bury("b");
        await Bury("c");

        Assert.Equal("antiforgery", (await Post($"jobs/{Q}/a/kick", HttpStatusCode.BadRequest, withToken: false)).GetProperty("error").GetString());
        Assert.Equal("buried", (await Get($"jobs/{Q}/a")).GetProperty("state").GetString());

        Assert.Equal("a", (await Post($"jobs/{Q}/a/kick")).GetProperty("kicked").GetString());
        Assert.Equal("ready", (await Get($"jobs/{Q}/a")).GetProperty("state").GetString());
        await Post($"jobs/{Q}/a/kick", HttpStatusCode.Conflict); // not buried any more
        Assert.Equal(2, (await Post($"queues/{Q}/kick-buried")).GetProperty("kicked").GetInt32());
        Assert.Equal("b", (await Post($"jobs/{Q}/b/delete")).GetProperty("deleted").GetString());
        await Get($"jobs/{Q}/b", HttpStatusCode.NotFound);

        var paused = await Post($"queues/{Q}/pause?seconds=60");
        Assert.True(paused.GetProperty("pausedUntil").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddSeconds(30));
        Assert.NotEqual(JsonValueKind.Null, (await Get($"queues/{Q}")).GetProperty("pausedUntil").ValueKind);
        await Post($"queues/{Q}/pause?seconds=-1", HttpStatusCode.BadRequest);
        await Post($"queues/{Q}/resume");
        Assert.Equal(JsonValueKind.Null, (await Get($"queues/{Q}")).GetProperty("pausedUntil").ValueKind);
    }

    [Fact]
    public async Task A_read_only_dashboard_refuses_every_action_and_still_reads()
    {
        _app = await StartAsync(o => o.ReadOnly = true);
        await Bury("a");

        Assert.Equal("read-only", (await Post($"jobs/{Q}/a/kick", HttpStatusCode.Forbidden)).GetProperty("error").GetString());
        Assert.Equal("buried", (await Get($"jobs/{Q}/a")).GetProperty("state").GetString());
    }

    // ---------------------------------------------------------------- the linda CLI against the same server

    private async Task<(int Code, string Out, string Err)> Linda(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var code = await Cli.Program.RunAsync([.. args, "--url", _http.BaseAddress!.ToString().Replace("/api/", "", StringComparison.Ordinal)], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task The_cli_lists_shows_pushes_and_acts_with_tables_json_and_exit_codes()
    {
        _app = await StartAsync();
        await Bury("poison");

        var (code, text, _) = await Linda("push", Q, "mail", "[\"bob@example.com\", 2]");
        Assert.Equal(0, code);
        var pushed = text.Trim().Split(": ")[1];
        Assert.Equal("bob@example.com", (await Get($"jobs/{Q}/{pushed}")).GetProperty("args")[0].GetString());

        (code, text, _) = await Linda("queues");
        Assert.Equal(0, code);
        var row = text.Split('\n').Single(l => l.StartsWith(Q + " ", StringComparison.Ordinal));
        Assert.Equal([Q, "1", "0", "0", "0", "1", "0", "2"], row.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..8]);

        (code, text, _) = await Linda("jobs", Q, "--state", "buried", "--json");
        Assert.Equal(0, code);
        using (var doc = JsonDocument.Parse(text))
            Assert.Equal("poison", doc.RootElement.GetProperty("jobs")[0].GetProperty("id").GetString());

        (code, text, _) = await Linda("job", Q, "poison");
        Assert.Equal(0, code);
        Assert.Contains("smtp said no", text);
        Assert.Equal(0, (await Linda("kick-job", Q, "poison")).Code);
        Assert.Equal("ready", (await Get($"jobs/{Q}/poison")).GetProperty("state").GetString());
        Assert.Equal(0, (await Linda("delete", Q, "poison")).Code);
        Assert.Equal(0, (await Linda("pause", Q, "30")).Code);
        Assert.Equal(0, (await Linda("resume", Q)).Code);

        // Schedules: the API and the table.
        Assert.IsType<ScheduleSaved>(await _linda.AddOrUpdateScheduleAsync(Q, new AddOrUpdateSchedule("nightly", "30 2 * * *", JobPayload.Create("mail"))));
        var schedules = await Get($"queues/{Q}/schedules");
        Assert.Equal("nightly", schedules[0].GetProperty("id").GetString());
        Assert.Equal("30 2 * * *", schedules[0].GetProperty("cron").GetString());
        (code, text, _) = await Linda("schedules", Q);
        Assert.Equal(0, code);
        Assert.Contains(text.Split('\n'), l => l.StartsWith("nightly ", StringComparison.Ordinal) && l.Contains("30 2 * * *") && l.Contains("RunOnce"));

        // Refusals: exit code 1 with the server's reason; usage: 2.
        var (refused, _, why) = await Linda("job", Q, "poison");
        Assert.Equal(1, refused);
        Assert.Contains("no job 'poison'", why);
        Assert.Equal(2, (await Linda("push", Q, "mail", "{not json")).Code);
        Assert.Equal(2, (await Linda("frobnicate")).Code);
    }

    [Fact]
    public async Task The_cli_says_when_no_server_answers_and_exits_3()
    {
        var port = TestPrograms.FreePort(); // nothing listens there
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var code = await Cli.Program.RunAsync(["queues", "--url", $"http://127.0.0.1:{port}/linda"], stdout, stderr);
        Assert.Equal(3, code);
        Assert.Contains($"can't use http://127.0.0.1:{port}/linda/api/", stderr.ToString());
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("::1", true)]
    [InlineData("10.1.2.3", false)]
    [InlineData("192.168.0.7", false)]
    public void Without_a_policy_only_loopback_requests_are_served(string remote, bool served)
    {
        var http = new DefaultHttpContext();
        http.Connection.RemoteIpAddress = IPAddress.Parse(remote);
        Assert.Equal(served, LindaDashboard.IsLoopback(http));
    }
}
