using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Linda.Cli;

/// <summary>
/// <c>linda</c>: a Linda dashboard's JSON API from the command line. Tables for people, <c>--json</c>
/// for scripts. Exit codes: 0 done, 1 the server refused (the job or queue doesn't exist, bad input,
/// the wrong state), 2 usage, 3 the server can't be reached or answered something else.
/// </summary>
public static class Program
{
    internal const int Ok = 0, Refused = 1, Usage = 2, Unreachable = 3;

    private const string Help = """
        usage: linda COMMAND [ARGS] [--url http://host:port/linda] [--json]
          queues                       every queue: counts, lag, failures, pause, the node it runs on
                                       (a partitioned queue's partitions on indented rows under it)
          cluster                      every node: status, roles, the queues (and partitions) it hosts, its workers
          stats QUEUE                  one queue's counts and commands (and each partition's counts)
          schedules QUEUE              a queue's cron schedules: next run, runs, skipped, last job
          jobs QUEUE [--state S] [--limit N] [--after CURSOR] [--reverse]
                                       a page of the jobs in state S (ready, delayed, reserved, buried)
          job QUEUE ID                 one job in full
          kick QUEUE [N]               kick up to N (default 1) buried or delayed jobs
          kick-buried QUEUE            kick every buried job
          kick-job QUEUE ID            kick one job
          delete QUEUE ID              delete a job
          cancel QUEUE ID              cancel a job (a running one: its worker is told to stop)
          pause QUEUE SECONDS          pause a queue
          resume QUEUE                 resume a queue
          push QUEUE CLASS [ARGS-JSON] push a job (args: a JSON array, default [])
        --url defaults to $LINDA_URL, else http://127.0.0.1:8080/linda
        """;

    /// <summary>Runs one command; see the usage text (<c>linda --help</c>).</summary>
    public static async Task<int> Main(string[] args) => await RunAsync(args, Console.Out, Console.Error);

    internal static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var positional = new List<string>();
        var named = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "--json" or "--reverse" or "--help" or "-h")
                named[args[i].TrimStart('-')] = "true";
            else if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                if (i + 1 >= args.Length)
                    return Fail(stderr, Usage, $"{args[i]} needs a value\n{Help}");
                named[args[i][2..]] = args[++i];
            }
            else
                positional.Add(args[i]);
        }
        if (positional.Count == 0 || named.ContainsKey("help") || named.ContainsKey("h"))
            return Fail(stderr, positional.Count == 0 && !named.ContainsKey("help") ? Usage : Ok, Help);
        var url = named.GetValueOrDefault("url") ?? Environment.GetEnvironmentVariable("LINDA_URL") ?? "http://127.0.0.1:8080/linda";
        if (!Uri.TryCreate(url.TrimEnd('/') + "/api/", UriKind.Absolute, out var api) || api.Scheme is not ("http" or "https"))
            return Fail(stderr, Usage, $"--url must be an http(s) URL, not '{url}'");
        var json = named.ContainsKey("json");
        using var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = api, Timeout = TimeSpan.FromSeconds(30) };
        var client = new ApiClient(http);

        var (command, rest) = (positional[0], positional.Skip(1).ToArray());
        try
        {
            return (command, rest.Length) switch
            {
                ("queues", 0) => Show(stdout, json, await client.GetAsync("queues"), QueuesTable),
                ("cluster", 0) => Show(stdout, json, await client.GetAsync("cluster"), ClusterTable),
                ("schedules", 1) => Show(stdout, json, await client.GetAsync($"queues/{Esc(rest[0])}/schedules"), SchedulesTable),
                ("stats", 1) => Show(stdout, json, await client.GetAsync($"queues/{Esc(rest[0])}"), StatsTable),
                ("jobs", 1) => Show(stdout, json, await client.GetAsync($"queues/{Esc(rest[0])}/jobs?state={Esc(named.GetValueOrDefault("state") ?? "ready")}"
                    + $"&limit={Esc(named.GetValueOrDefault("limit") ?? "50")}{(named.GetValueOrDefault("after") is { } a ? "&after=" + Esc(a) : "")}"
                    + (named.ContainsKey("reverse") ? "&reverse=true" : "")), JobsTable),
                ("job", 2) => Show(stdout, json, await client.GetAsync($"jobs/{Esc(rest[0])}/{Esc(rest[1])}"), JobTable),
                ("kick", 1 or 2) => Show(stdout, json, await client.PostAsync($"queues/{Esc(rest[0])}/kick?bound={Esc(rest.ElementAtOrDefault(1) ?? "1")}"), Line("kicked")),
                ("kick-buried", 1) => Show(stdout, json, await client.PostAsync($"queues/{Esc(rest[0])}/kick-buried"), Line("kicked")),
                ("kick-job", 2) => Show(stdout, json, await client.PostAsync($"jobs/{Esc(rest[0])}/{Esc(rest[1])}/kick"), Line("kicked")),
                ("delete", 2) => Show(stdout, json, await client.PostAsync($"jobs/{Esc(rest[0])}/{Esc(rest[1])}/delete"), Line("deleted")),
                ("cancel", 2) => Show(stdout, json, await client.PostAsync($"jobs/{Esc(rest[0])}/{Esc(rest[1])}/cancel"), Line("cancelled")),
                ("pause", 2) => Show(stdout, json, await client.PostAsync($"queues/{Esc(rest[0])}/pause?seconds={Esc(rest[1])}"), Line("pausedUntil")),
                ("resume", 1) => Show(stdout, json, await client.PostAsync($"queues/{Esc(rest[0])}/resume"), Line("resumed")),
                ("push", 2 or 3) => await Push(client, stdout, stderr, json, rest),
                _ => Fail(stderr, Usage, $"'{string.Join(' ', positional)}' is not a linda command\n{Help}"),
            };
        }
        catch (ApiRefusal r)
        {
            return Fail(stderr, Refused, $"linda: {r.Message}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ApiBroken)
        {
            return Fail(stderr, Unreachable, $"linda: can't use {api}: {e.Message}");
        }
    }

    private static async Task<int> Push(ApiClient client, TextWriter stdout, TextWriter stderr, bool json, string[] rest)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(rest.ElementAtOrDefault(2) ?? "[]");
        }
        catch (JsonException e)
        {
            return Fail(stderr, Usage, $"ARGS-JSON is not JSON: {e.Message}");
        }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
            return Fail(stderr, Usage, $"ARGS-JSON must be a JSON array, not {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}");
        var body = JsonSerializer.Serialize(new { @class = rest[1], args = doc.RootElement });
        return Show(stdout, json, await client.PostAsync($"queues/{Esc(rest[0])}/push", body), Line("pushed"));
    }

    private static string Esc(string s) => Uri.EscapeDataString(s);

    private static int Fail(TextWriter w, int code, string message)
    {
        w.WriteLine(message);
        return code;
    }

    private static int Show(TextWriter w, bool json, JsonElement answer, Action<TextWriter, JsonElement> table)
    {
        if (json)
            w.WriteLine(JsonSerializer.Serialize(answer, new JsonSerializerOptions { WriteIndented = true }));
        else
            table(w, answer);
        return Ok;
    }

    private static Action<TextWriter, JsonElement> Line(string key) => (w, e) => w.WriteLine($"{key}: {Text(e.GetProperty(key))}");

    private static string Text(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.Null => "-",
        _ => e.GetRawText(),
    };

    private static readonly string[] Counts = ["ready", "urgent", "delayed", "reserved", "buried", "waiting", "totalJobs"];

    // A partition's row starts with this, under its queue's.
    private const string PartitionIndent = "  ";

    private static void QueuesTable(TextWriter w, JsonElement queues) =>
        Table(w, ["queue", .. Counts, "lag", "failures", "paused until", "runs on"], queues.EnumerateArray().SelectMany(q =>
            q.TryGetProperty("partitions", out var partitions)
                ? partitions.EnumerateArray().Select(p => QueueRow(p, PartitionIndent)).Prepend(QueueRow(q, "", $"{partitions.GetArrayLength()} partitions"))
                : [QueueRow(q, "")]));

    // A queue's (or partition's) row; a partitioned queue runs on its partitions' nodes, on the rows under it.
    private static string[] QueueRow(JsonElement q, string indent, string? runsOn = null) => q.TryGetProperty("error", out var error)
        ? [indent + Text(q.GetProperty("name")), Text(error.GetProperty("error")) + ": " + Text(error.GetProperty("message"))]
        : new[] { indent + Text(q.GetProperty("name")) }.Concat(Counts.Select(c => Text(q.GetProperty(c))))
            .Append(q.GetProperty("lagSeconds").GetDouble().ToString("0.###", CultureInfo.InvariantCulture) + " s")
            .Append(Text(q.GetProperty("failures"))).Append(Text(q.GetProperty("pausedUntil"))).Append(runsOn ?? Text(q.GetProperty("node"))).ToArray();

    private static void SchedulesTable(TextWriter w, JsonElement schedules) =>
        Table(w, ["schedule", "cron", "zone", "class", "next run", "last job", "runs", "skipped", "misfire", "overlap"], schedules.EnumerateArray().Select(c => new[]
        {
            Text(c.GetProperty("id")), Text(c.GetProperty("cron")), Text(c.GetProperty("timeZone")), Text(c.GetProperty("class")), Text(c.GetProperty("nextRunAt")),
            Text(c.GetProperty("lastJobId")), Text(c.GetProperty("runs")), Text(c.GetProperty("skipped")), Text(c.GetProperty("misfire")), Text(c.GetProperty("overlap")),
        }));

    private static void ClusterTable(TextWriter w, JsonElement cluster) =>
        Table(w, ["node", "status", "roles", "queues", "workers"], cluster.GetProperty("members").EnumerateArray().Select(m => new[]
        {
            Text(m.GetProperty("address")) + (m.GetProperty("self").GetBoolean() ? " (this)" : "") + (m.GetProperty("leader").GetBoolean() ? " (leader)" : ""),
            Text(m.GetProperty("status")) + (m.GetProperty("reachable").GetBoolean() ? "" : " unreachable"),
            string.Join(",", m.GetProperty("roles").EnumerateArray().Select(Text)) is { Length: > 0 } roles ? roles : "-",
            string.Join(",", m.GetProperty("queues").EnumerateArray().Select(Text)) is { Length: > 0 } hosted ? hosted : "-",
            m.GetProperty("workers").ValueKind == JsonValueKind.Null ? "-"
                : string.Join(",", m.GetProperty("workers").EnumerateArray().Select(p => $"{Text(p.GetProperty("queue"))}:{Text(p.GetProperty("workers"))}")) is { Length: > 0 } pools ? pools : "none",
        }));

    private static void StatsTable(TextWriter w, JsonElement q)
    {
        QueuesTable(w, JsonSerializer.SerializeToElement(new[] { q }));
        w.WriteLine();
        Table(w, ["command", "served"], q.GetProperty("commands").EnumerateObject().Select(p => new[] { p.Name, Text(p.Value) }));
    }

    private static void JobsTable(TextWriter w, JsonElement page)
    {
        Table(w, ["id", "seq", "class", "priority", "attempt", "due", "lease deadline", "last error"], page.GetProperty("jobs").EnumerateArray().Select(j => new[]
        {
            Text(j.GetProperty("id")), Text(j.GetProperty("seq")), Text(j.GetProperty("class")), Text(j.GetProperty("priority")),
            Text(j.GetProperty("attempt")), Text(j.GetProperty("dueAt")), Text(j.GetProperty("leaseDeadline")), Text(j.GetProperty("lastError")),
        }));
        w.WriteLine($"{page.GetProperty("jobs").GetArrayLength()} of {page.GetProperty("total")} {page.GetProperty("state").GetString()} jobs"
                    + (page.GetProperty("next").GetString() is { } next ? $"; next page: --after {next}" : ""));
    }

    private static void JobTable(TextWriter w, JsonElement job) =>
        Table(w, ["field", "value"], job.EnumerateObject().Select(p => new[] { p.Name, Text(p.Value) }));

    /// <summary>Plain aligned columns.</summary>
    internal static void Table(TextWriter w, string[] header, IEnumerable<string[]> rows)
    {
        var all = rows.Prepend(header).ToList();
        var widths = new int[all.Max(r => r.Length)];
        foreach (var r in all)
            for (var i = 0; i < r.Length; i++)
                widths[i] = Math.Max(widths[i], r[i].Length);
        foreach (var r in all)
        {
            var line = new StringBuilder();
            for (var i = 0; i < r.Length; i++)
                line.Append(i + 1 < r.Length ? r[i].PadRight(widths[i] + 2) : r[i]);
            w.WriteLine(line.ToString().TrimEnd());
        }
    }
}

/// <summary>The server refused (4xx with an API error): exit code 1.</summary>
internal sealed class ApiRefusal(string message) : Exception(message);

/// <summary>The server answered something that is not the API: exit code 3.</summary>
internal sealed class ApiBroken(string message) : Exception(message);

internal sealed class ApiClient(HttpClient http)
{
    private (string Header, string Token)? _antiforgery;

    public async Task<JsonElement> GetAsync(string path) => await Read(await http.GetAsync(path));

    public async Task<JsonElement> PostAsync(string path, string? json = null)
    {
        _antiforgery ??= await Token();
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = json is null ? null : new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(_antiforgery.Value.Header, _antiforgery.Value.Token);
        return await Read(await http.SendAsync(request));
    }

    private async Task<(string, string)> Token()
    {
        var af = await GetAsync("antiforgery");
        return (af.GetProperty("header").GetString()!, af.GetProperty("token").GetString()!);
    }

    private static async Task<JsonElement> Read(HttpResponseMessage response)
    {
        using (response)
        {
            JsonElement body;
            try
            {
                body = await response.Content.ReadFromJsonAsync<JsonElement>();
            }
            catch (JsonException)
            {
                throw new ApiBroken($"{(int)response.StatusCode} {response.ReasonPhrase}, and not JSON: is this a Linda dashboard URL?");
            }
            if (response.IsSuccessStatusCode)
                return body;
            var message = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("message", out var m) ? m.GetString() : body.ToString();
            if ((int)response.StatusCode is >= 400 and < 500)
                throw new ApiRefusal($"{message} ({(int)response.StatusCode})");
            throw new ApiBroken($"{message} ({(int)response.StatusCode})");
        }
    }
}
