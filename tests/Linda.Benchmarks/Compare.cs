using System.Diagnostics;
using System.Globalization;
using System.Text;
using Linda.Tests.Infrastructure;

namespace Linda.Benchmarks;

internal static partial class Program
{
    // ================================================================ compare

    /// <summary>
    /// Every figure of issue 10's goals in one call, side by side and as ratios, on this machine:
    /// <list type="number">
    /// <item>Linda in-process on SQLite (WAL, synchronous=FULL): push, cycle slots=25 and slots=1,
    /// workers, idle latency, after one warm-up (a child process of this benchmark);</item>
    /// <item>recovery of 1,000,000 ready jobs in a cold process;</item>
    /// <item>the same in-process figures on PostgreSQL (a local server this run starts, fsync on);</item>
    /// <item>beanstalkd with its binlog (<c>-b</c>, fsync every 50 ms) and Linda.Server (SQLite,
    /// synchronous=FULL), each driven by the shared load client of <c>../shared/bench-anchors</c>:
    /// put, drain and cycle (put N, then drain them), mixed (producers and consumers at once) and idle
    /// put→reserve latency, after the same warm-up.</item>
    /// </list>
    /// Each measured figure is at least <c>--seconds</c> (5) of work, sized from the warm-up's rates.
    /// Options: <c>--skip=inprocess,recovery,postgres,beanstalkd,server</c>, <c>--anchors=DIR</c>
    /// (default: the repository's <c>../shared/bench-anchors</c>), <c>--recovery-n=N</c> (1,000,000).
    /// </summary>
    private static async Task ModeCompare(Options o)
    {
        var seconds = o.Double("seconds", 5);
        var warmup = o.Double("warmup", 30);
        var skip = o.Str("skip", "").Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var common = new[] { $"--seconds={seconds.ToString(CultureInfo.InvariantCulture)}", $"--warmup={warmup.ToString(CultureInfo.InvariantCulture)}" };
        var lines = new List<Dictionary<string, string>>();
        var sw = Stopwatch.StartNew();

        if (!skip.Contains("inprocess"))
            lines.AddRange(await RunSelf(["all", "--modes=push,cycle,workers,latency", .. common]));
        if (!skip.Contains("recovery"))
            lines.AddRange(await RunSelf(["recovery", o.Int("recovery-n", 1_000_000).ToString(CultureInfo.InvariantCulture), "--warmup=0"]));
        if (!skip.Contains("postgres"))
            lines.AddRange(await RunSelf(["all", "--modes=push,cycle,latency", "--postgres=auto", .. common]));

        var client = skip.Contains("beanstalkd") && skip.Contains("server") ? null : LoadClient.Build(o.Str("anchors", "") is { Length: > 0 } anchors ? anchors : DefaultAnchors());
        if (client is not null && !skip.Contains("beanstalkd"))
        {
            await using var beanstalkd = await BeanstalkdProcess.StartAsync(binlog: true);
            lines.AddRange(await client.Measure("beanstalkd", beanstalkd.Port, warmup, seconds));
        }
        if (client is not null && !skip.Contains("server"))
        {
            using var data = new TempFolder("linda-bench-server");
            var port = TestPrograms.FreePort();
            using var server = LindaServerProcess.Start("linda-server", port, "--data", data.Path);
            await server.Listening.WaitAsync(TimeSpan.FromSeconds(60));
            lines.AddRange(await client.Measure("linda-server", port, warmup, seconds));
        }

        Console.Error.WriteLine($"# compare: all figures in {sw.Elapsed.TotalMinutes:F1} min");
        Console.WriteLine($"# in-process figures with {(System.Runtime.GCSettings.IsServerGC ? "Server" : "Workstation")} GC (DOTNET_gcServer=0|1 to choose)");
        PrintComparison(lines);
    }

    /// <summary>The repository's <c>../shared/bench-anchors</c>, found from this program's folder up.</summary>
    private static string DefaultAnchors()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Linda.sln")))
                return Path.Combine(dir.FullName, "..", "shared", "bench-anchors");
        }
        throw new InvalidOperationException("can't find the repository (Linda.sln) above " + AppContext.BaseDirectory + ": pass --anchors=DIR");
    }

    /// <summary>Runs this benchmark in a child process and returns its RESULT lines; its notes go to stderr.</summary>
    private static async Task<List<Dictionary<string, string>>> RunSelf(string[] args)
    {
        var exe = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet")
            psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        Console.Error.WriteLine($"# compare: running {string.Join(' ', args)}");
        return await RunForResults(psi, "linda", string.Join(' ', args));
    }

    private static async Task<List<Dictionary<string, string>>> RunForResults(ProcessStartInfo psi, string server, string what)
    {
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {psi.FileName}");
        var results = new List<Dictionary<string, string>>();
        var stdout = Task.Run(async () =>
        {
            while (await p.StandardOutput.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith("RESULT ", StringComparison.Ordinal))
                    continue;
                Console.Error.WriteLine($"#   {server}: {line}");
                var fields = ParseResult(line);
                fields["server"] = server;
                results.Add(fields);
            }
        });
        var stderr = Task.Run(async () =>
        {
            while (await p.StandardError.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("FAILED", StringComparison.Ordinal) || line.StartsWith("Unhandled", StringComparison.Ordinal))
                    Console.Error.WriteLine($"#   {server}: {line}");
            }
        });
        await p.WaitForExitAsync();
        await Task.WhenAll(stdout, stderr);
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{what} exited with {p.ExitCode}");
        return results;
    }

    /// <summary>The <c>key=value</c> fields of a RESULT line (a key seen twice keeps its first value).</summary>
    private static Dictionary<string, string> ParseResult(string line)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        string? prefix = null;
        foreach (var word in line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var eq = word.IndexOf('=');
            if (eq < 0)
            {
                prefix = word == "|" ? null : word; // the load client's "put_to_reserve_us p50=..." groups
                continue;
            }
            var key = prefix is null ? word[..eq] : prefix + "." + word[..eq];
            fields.TryAdd(key, word[(eq + 1)..]);
        }
        return fields;
    }

    /// <summary>The shared beanstalkd load client (<c>bench-anchors/beanstalk-bench</c>), built once into /tmp.</summary>
    private sealed class LoadClient(string executable)
    {
        public static LoadClient Build(string anchors)
        {
            var project = Path.Combine(anchors, "beanstalk-bench", "BeanstalkBench.csproj");
            if (!File.Exists(project))
                throw new InvalidOperationException($"no load client at {project}: pass --anchors=DIR");
            var output = Path.Combine(Path.GetTempPath(), "beanstalk-bench");
            var executable = Path.Combine(output, "BeanstalkBench");
            if (!File.Exists(executable))
            {
                // Built outside the anchors' folder, which may be read-only (as its runner does).
                var psi = new ProcessStartInfo("dotnet", ["build", project, "-c", "Release", "-o", output, $"-p:BaseIntermediateOutputPath={output}/obj/"])
                {
                    RedirectStandardOutput = true,
                    UseShellExecute = false,
                };
                using var build = Process.Start(psi)!;
                var log = build.StandardOutput.ReadToEnd();
                build.WaitForExit();
                if (build.ExitCode != 0)
                    throw new InvalidOperationException($"building the load client failed: {log}");
            }
            return new LoadClient(executable);
        }

        private Task<List<Dictionary<string, string>>> Run(string server, int port, params string[] args)
        {
            var psi = new ProcessStartInfo(executable, [port.ToString(CultureInfo.InvariantCulture), .. args])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            return RunForResults(psi, server, $"the load client ({string.Join(' ', args)}) against {server}");
        }

        /// <summary>
        /// Warms <paramref name="server"/> up with put-then-drain cycles for <paramref name="warmup"/>
        /// seconds, then measures cycle, mixed and latency, each sized for <paramref name="seconds"/>.
        /// </summary>
        public async Task<List<Dictionary<string, string>>> Measure(string server, int port, double warmup, double seconds)
        {
            var sw = Stopwatch.StartNew();
            double put = 0, drain = 0, mixed = 0;
            var rounds = 0;
            do
            {
                rounds++;
                var c = (await Run(server, port, "cycle", "50000", "4", "100")).Single();
                var m = (await Run(server, port, "mixed", "50000", "4", "100")).Single();
                (put, drain, mixed) = (Rate(c, "put_jobs_per_s"), Rate(c, "drain_jobs_per_s"), Rate(m, "cycle_jobs_per_s"));
            } while (sw.Elapsed.TotalSeconds < warmup);
            Console.Error.WriteLine($"# compare: {server} warmed up in {rounds} rounds ({sw.Elapsed.TotalSeconds:F0} s): put {put:F0}/s, drain {drain:F0}/s, mixed {mixed:F0}/s");
            int Jobs(double rate) => (int)Math.Max(50_000, Math.Ceiling(rate * seconds * 1.3 / 1000) * 1000);
            var results = new List<Dictionary<string, string>>();
            results.AddRange(await Run(server, port, "cycle", Jobs(Math.Max(put, drain)).ToString(CultureInfo.InvariantCulture), "4", "100"));
            results.AddRange(await Run(server, port, "mixed", Jobs(mixed).ToString(CultureInfo.InvariantCulture), "4", "100"));
            // One job a millisecond or so: as many as fill the measured time.
            results.AddRange(await Run(server, port, "latency", ((int)(seconds * 700)).ToString(CultureInfo.InvariantCulture)));
            return results;
        }

        private static double Rate(Dictionary<string, string> r, string key) => double.Parse(r[key], CultureInfo.InvariantCulture);
    }

    // ---------------------------------------------------------------- the table

    private sealed record Figure(string Name, double? Linda, double? Peer, string Unit, Func<double, double, bool>? Goal, string GoalText, bool Absolute = false);

    private static void PrintComparison(List<Dictionary<string, string>> lines)
    {
        double? Get(string server, string mode, string key, string? slotsOrWorkers = null, string? store = null)
        {
            foreach (var l in lines)
            {
                if (l["server"] != server || l.GetValueOrDefault("mode") != mode)
                    continue;
                if (store is not null && l.GetValueOrDefault("store") != store)
                    continue;
                if (slotsOrWorkers is not null && (l.TryGetValue("slots", out var shape) || l.TryGetValue("workers", out shape) ? shape : null) != slotsOrWorkers)
                    continue;
                if (l.TryGetValue(key, out var v))
                    return double.Parse(v, CultureInfo.InvariantCulture);
            }
            return null;
        }
        var bsPut = Get("beanstalkd", "cycle", "put_jobs_per_s");
        var bsDrain = Get("beanstalkd", "cycle", "drain_jobs_per_s");
        var bsCycle = Get("beanstalkd", "cycle", "cycle_jobs_per_s");
        var bsP50 = Get("beanstalkd", "latency", "put_to_reserve_us.p50");
        var figures = new List<Figure>
        {
            new("in-process cycle slots=25 / beanstalkd cycle", Get("linda", "cycle", "cycle_jobs_per_s", "25", "sqlite"), bsCycle, "jobs/s", (l, p) => l >= 4 * p, ">= 4x"),
            new("in-process cycle slots=1 / beanstalkd cycle", Get("linda", "cycle", "cycle_jobs_per_s", "1", "sqlite"), bsCycle, "jobs/s", (l, p) => l >= 3 * p, ">= 3x"),
            new("in-process push / beanstalkd put", Get("linda", "push", "push_jobs_per_s", null, "sqlite"), bsPut, "jobs/s", (l, p) => l >= 2 * p, ">= 2x"),
            new("in-process workers=4, no-op handler", Get("linda", "workers", "workers_jobs_per_s", "4", "sqlite"), null, "jobs/s", (l, _) => l >= 60_000, ">= 60000", true),
            new("in-process workers=16, no-op handler", Get("linda", "workers", "workers_jobs_per_s", "16", "sqlite"), null, "jobs/s", (l, _) => l >= 60_000, ">= 60000", true),
            new("Linda.Server cycle / beanstalkd cycle", Get("linda-server", "cycle", "cycle_jobs_per_s"), bsCycle, "jobs/s", (l, p) => l >= 1.5 * p, ">= 1.5x"),
            new("Linda.Server drain / beanstalkd drain", Get("linda-server", "cycle", "drain_jobs_per_s"), bsDrain, "jobs/s", (l, p) => l >= p, ">= 1.0x"),
            new("Linda.Server put / beanstalkd put", Get("linda-server", "cycle", "put_jobs_per_s"), bsPut, "jobs/s", (l, p) => l >= 1.5 * p, ">= 1.5x"),
            new("Linda.Server mixed / beanstalkd mixed", Get("linda-server", "mixed", "cycle_jobs_per_s"), Get("beanstalkd", "mixed", "cycle_jobs_per_s"), "jobs/s", null, "(no goal)"),
            new("Linda.Server idle put->reserve p50 / beanstalkd", Get("linda-server", "latency", "put_to_reserve_us.p50"), bsP50, "us", (l, p) => l <= 3 * p, "<= 3x"),
            new("Linda.Server idle put->reserve p99 / beanstalkd", Get("linda-server", "latency", "put_to_reserve_us.p99"), Get("beanstalkd", "latency", "put_to_reserve_us.p99"), "us", null, "(no goal)"),
            new("in-process idle push->reserve p50", Get("linda", "latency", "p50_us", null, "sqlite"), null, "us", (l, _) => l <= 500, "<= 500", true),
            new("in-process idle push->reserve p99", Get("linda", "latency", "p99_us", null, "sqlite"), null, "us", (l, _) => l <= 2000, "<= 2000", true),
            new("in-process CPU per cycle, slots=25", Get("linda", "cycle", "cpu_us_per_job", "25", "sqlite"), null, "us", (l, _) => l <= 12, "<= 12", true),
            new("in-process CPU per cycle, slots=1", Get("linda", "cycle", "cpu_us_per_job", "1", "sqlite"), null, "us", (l, _) => l <= 12, "<= 12", true),
            new("in-process allocations per cycle, slots=25", Get("linda", "cycle", "alloc_bytes_per_job", "25", "sqlite"), null, "bytes", (l, _) => l <= 3072, "<= 3072", true),
            new("in-process allocations per cycle, slots=1", Get("linda", "cycle", "alloc_bytes_per_job", "1", "sqlite"), null, "bytes", (l, _) => l <= 3072, "<= 3072", true),
            new("recovery of 1,000,000 ready jobs, cold", Get("linda", "recovery", "recovery_s"), null, "s", (l, _) => l <= 3, "<= 3", true),
            new("recovery of 1,000,000 ready jobs, peak memory", Get("linda", "recovery", "peak_working_set_mb"), null, "MB", (l, _) => l <= 1024, "<= 1024", true),
            new("PostgreSQL cycle slots=25", Get("linda", "cycle", "cycle_jobs_per_s", "25", "postgres"), null, "jobs/s", (l, _) => l >= 38_000, ">= 38000", true),
            new("PostgreSQL cycle slots=1", Get("linda", "cycle", "cycle_jobs_per_s", "1", "postgres"), null, "jobs/s", (l, _) => l >= 38_000, ">= 38000", true),
            new("PostgreSQL push", Get("linda", "push", "push_jobs_per_s", null, "postgres"), null, "jobs/s", null, "(no goal)", true),
            new("PostgreSQL idle push->reserve p50", Get("linda", "latency", "p50_us", null, "postgres"), null, "us", (l, _) => l <= 1500, "<= 1500", true),
            new("PostgreSQL idle push->reserve p99", Get("linda", "latency", "p99_us", null, "postgres"), null, "us", null, "(no goal)", true),
        };

        var table = new StringBuilder();
        table.AppendLine($"{"figure",-52} {"Linda",12} {"peer",12} {"ratio",7}  {"goal",-10} result");
        var met = 0;
        var missed = new List<string>();
        foreach (var f in figures)
        {
            if (f.Linda is not { } linda)
                continue;
            var ratio = f.Peer is { } peer && peer > 0 ? linda / peer : (double?)null;
            string verdict;
            if (f.Goal is null)
                verdict = "";
            else if (f.Absolute || f.Peer is { } && f.Peer > 0)
            {
                var ok = f.Goal(linda, f.Peer ?? 0);
                verdict = ok ? "met" : "MISSED";
                if (ok)
                    met++;
                else
                    missed.Add(f.Name);
            }
            else
                verdict = "no peer figure";
            table.AppendLine($"{f.Name,-52} {Stat.F(linda, linda < 100 ? 1 : 0),12} {(f.Peer is { } p ? Stat.F(p, p < 100 ? 1 : 0) : "-"),12} {(ratio is { } r ? Stat.F(r, 2) + "x" : "-"),7}  {f.GoalText,-10} {verdict}");
        }
        Console.WriteLine(table.ToString().TrimEnd());
        Console.WriteLine($"RESULT mode=compare goals_met={met} goals_missed={missed.Count}{(missed.Count > 0 ? " missed=\"" + string.Join("; ", missed) + "\"" : "")}");
    }
}
