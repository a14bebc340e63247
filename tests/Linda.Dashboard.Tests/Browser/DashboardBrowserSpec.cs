using System.Runtime.CompilerServices;
using Linda.Hosting;
using OpenQA.Selenium;
using Xunit;
using static Linda.JobQueue;

namespace Linda.Dashboard.Tests.Browser;

/// <summary>
/// The dashboard's pages and actions in a real headless Chromium (Debian's chromium and chromium-driver,
/// through Selenium), against a real Kestrel server and a real queue on an SQLite file. Each spec has
/// a queue of its own (<see cref="DashboardSite.Queues"/>).
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class DashboardBrowserSpec(DashboardSite site) : IClassFixture<DashboardSite>
{
    private Task Browse(Func<Task> steps, [CallerMemberName] string spec = "") => site.Browse(spec, steps);

    private async Task PushAsync(string queue, string id, string cls = "send", string args = "[1]") =>
        Assert.IsType<Pushed>(await site.Linda.PushAsync(new Push(queue, JobPayload.FromJson(cls, args)) { Id = id }));

    [Fact]
    public Task The_overview_shows_each_queue_and_its_counts_change_after_pushes() => Browse(async () =>
    {
        site.Open("#/");
        var row = "#queues tr[data-queue='counts']";
        site.Until(() => site.Text(row + " td[data-field='ready']") == "0", "counts shows 0 ready");
        Assert.Equal(DashboardSite.Queues.Order(StringComparer.Ordinal),
            site.Driver.FindElements(By.CssSelector("#queues tbody tr")).Select(r => r.GetAttribute("data-queue")));
        Assert.Equal("running", site.Text(row + " td[data-field='state']"));

        for (var i = 0; i < 3; i++)
            await PushAsync("counts", $"c{i}");
        Assert.IsType<Pushed>(await site.Linda.LaterAsync("counts", JobPayload.FromJson("send", "[]"), TimeSpan.FromHours(1), "later"));

        // No reload: the page redraws itself from the API.
        site.Until(() => site.Text(row + " td[data-field='ready']") == "3", "counts shows 3 ready without a reload");
        site.Until(() => site.Text(row + " td[data-field='delayed']") == "1", "counts shows 1 delayed");
        Assert.NotEqual("—", site.Text(row + " td[data-field='lag']"));
        Assert.Contains("akka.tcp://browse@127.0.0.1:", site.Driver.FindElement(By.CssSelector(row)).Text); // where it runs
        // The chart is drawn with its three lines once two samples exist.
        site.Until(() => site.Driver.FindElements(By.CssSelector(".chart polyline")).Count == 3, "the throughput chart has its lines", TimeSpan.FromSeconds(60));
        site.Until(() => site.Text(".chart .legend")!.Contains("pushed"), "the chart's legend");
    });

    [Fact]
    public Task A_buried_job_is_opened_from_its_queue_and_kicked() => Browse(async () =>
    {
        await PushAsync("buried", "b1", "resize", """[{"w":640,"h":480}]""");
        var id = await site.BuryOneAsync("buried", "the image is broken:\n  at Resize() line 12");
        Assert.Equal("b1", id);

        site.Open("#/queues/buried?state=buried");
        site.Until(() => site.Text(".tabs a[data-state='buried']") == "buried (1)", "the buried tab counts 1");
        site.Until(() => site.Driver.FindElements(By.CssSelector("#jobs tr[data-job='b1'] a")).Count == 1, "b1 is listed as buried");
        Assert.Contains("the image is broken:", site.Text("#jobs tr[data-job='b1']"));
        site.Driver.FindElement(By.CssSelector("#jobs tr[data-job='b1'] a")).Click();

        site.Until(() => site.Text("dd[data-field='state']") == "buried", "the job page shows b1 buried");
        Assert.Equal("resize", site.Text("dd[data-field='class']"));
        Assert.Contains("\"w\": 640", site.Text("#payload")); // pretty-printed
        Assert.Equal("the image is broken:\n  at Resize() line 12", site.Text("#last-error")); // in full
        Assert.Equal("1", site.Text("dd[data-field='buries']"));

        site.Click("Kick");
        site.Confirm("Kick job b1 to ready?");
        Assert.Equal("Kicked job b1.", site.Answer("Kicked"));
        site.Until(() => site.Text("dd[data-field='state']") == "ready", "the job page shows b1 ready");
        Assert.Equal("1", site.Text("dd[data-field='kicks']"));
        var view = Assert.IsType<JobView>(await site.Linda.GetJobAsync("buried", "b1"));
        Assert.Equal(JobState.Ready, view.State);
    });

    [Fact]
    public Task A_job_is_deleted_after_its_confirmation_and_not_before() => Browse(async () =>
    {
        await PushAsync("deletes", "d1");
        site.Open("#/jobs/deletes/d1");
        site.Until(() => site.Text("dd[data-field='state']") == "ready", "the job page shows d1 ready");

        site.Click("Delete");
        site.Confirm("Delete job d1 of deletes?", yes: false);
        Assert.IsType<JobView>(await site.Linda.GetJobAsync("deletes", "d1")); // cancelled: still there

        site.Click("Delete");
        site.Confirm("Delete job d1 of deletes?");
        Assert.Equal("Deleted job d1.", site.Answer("Deleted"));
        site.Until(() => site.Driver.FindElements(By.Id("job-gone")).Count == 1, "the page says d1 is gone");
        Assert.IsType<NotFound>(await site.Linda.GetJobAsync("deletes", "d1"));
    });

    [Fact]
    public Task A_queue_is_paused_and_resumed_from_its_page() => Browse(async () =>
    {
        await PushAsync("pauses", "p1");
        site.Open("#/queues/pauses");
        site.Until(() => site.Text("main h1")!.Contains("running"), "pauses shows running");

        var seconds = site.Driver.FindElement(By.Id("pause-seconds"));
        seconds.Clear();
        seconds.SendKeys("120");
        site.Click("Pause");
        site.Confirm("Pause pauses for 120 s?");
        Assert.StartsWith("Paused until", site.Answer("Paused until"));
        site.Until(() => site.Text("main h1")!.Contains("paused"), "the page shows pauses paused");
        var stats = Assert.IsType<QueueStats>(await site.Linda.GetStatsAsync("pauses"));
        Assert.NotNull(stats.PausedUntil);
        Assert.InRange(stats.PausedUntil.Value - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(121));

        site.Open("#/");
        site.Until(() => site.Text("#queues tr[data-queue='pauses'] td[data-field='state']")!.StartsWith("paused until"), "the overview shows pauses paused");

        site.Open("#/queues/pauses");
        site.Click("Resume");
        site.Confirm("Resume pauses?");
        site.Answer("Resumed pauses.");
        site.Until(() => site.Text("main h1")!.Contains("running"), "pauses runs again");
        Assert.Null(Assert.IsType<QueueStats>(await site.Linda.GetStatsAsync("pauses")).PausedUntil);
    });

    [Fact]
    public Task A_queue_pages_through_its_jobs_both_ways_and_finds_one_by_id() => Browse(async () =>
    {
        for (var i = 0; i < 30; i++)
            await PushAsync("pages", $"j{i:00}");
        site.Open("#/queues/pages");
        site.Until(() => site.Driver.FindElements(By.CssSelector("#jobs tbody tr[data-job]")).Count == 25, "the first page has 25 jobs");
        Assert.Equal("j00", site.Driver.FindElements(By.CssSelector("#jobs tbody tr[data-job]"))[0].GetAttribute("data-job")); // most urgent (then oldest) first
        site.Driver.FindElement(By.Id("next-page")).Click();
        site.Until(() => site.Driver.FindElements(By.CssSelector("#jobs tbody tr[data-job]")).Select(r => r.GetAttribute("data-job")).SequenceEqual(
            Enumerable.Range(25, 5).Select(i => $"j{i:00}")), "the second page has j25..j29");
        Assert.Empty(site.Driver.FindElements(By.Id("next-page")));

        site.Open("#/queues/pages?state=ready&reverse=1");
        site.Until(() => site.Driver.FindElements(By.CssSelector("#jobs tbody tr[data-job]")).FirstOrDefault()?.GetAttribute("data-job") == "j29", "reversed: j29 first");

        var search = site.Driver.FindElement(By.Id("job-search"));
        search.SendKeys("j17");
        search.SendKeys(Keys.Enter);
        site.Until(() => site.Text("main h1") == "Job j17", "the search opened j17");
        site.Until(() => site.Text("dd[data-field='seq']") is { Length: > 0 }, "j17's page is drawn");
    });

    [Fact]
    public Task A_queues_page_lists_its_schedules_with_their_next_run() => Browse(async () =>
    {
        Assert.IsType<ScheduleSaved>(await site.Linda.AddOrUpdateScheduleAsync("deletes",
            new AddOrUpdateSchedule("new-year", "0 0 1 1 *", JobPayload.Create("greet")) { TimeZone = "Europe/Berlin", Overlap = Overlap.Skip }));
        site.Open("#/queues/deletes");
        site.Until(() => site.Driver.FindElements(By.CssSelector("#schedules tr[data-schedule='new-year']")).Count == 1, "the schedule is listed");
        var row = site.Text("#schedules tr[data-schedule='new-year']")!;
        Assert.Contains("0 0 1 1 *", row);
        Assert.Contains("Europe/Berlin", row);
        Assert.Contains("greet", row);
        Assert.Contains("RunOnce, Skip", row);
        Assert.IsType<ScheduleRemoved>(await site.Linda.RemoveScheduleAsync("deletes", "new-year"));
        site.Until(() => site.Text("#schedules tbody") == "No schedules.", "the removed schedule is gone without a reload");
    });

    [Fact]
    public Task The_cluster_page_shows_this_node_its_roles_and_the_queues_it_hosts() => Browse(() =>
    {
        site.Open("#/cluster");
        site.Until(() => site.Driver.FindElements(By.CssSelector("#members tbody tr")).Count == 1, "one node");
        var node = site.Driver.FindElement(By.CssSelector("#members tbody tr"));
        Assert.StartsWith("akka.tcp://browse@127.0.0.1:", node.GetAttribute("data-node"));
        Assert.Contains("Up", node.Text);
        Assert.Contains("this node", node.Text);
        // Every queue, the partitioned one as its partitions (each asked where it runs), not as its router.
        site.Until(() => site.Text("#members td[data-field='queues']") == string.Join(", ", DashboardSite.Hosted), "it hosts every queue and partition");
        Assert.Equal(QueuePartitions.NameOf(DashboardSite.Partitioned, 1),
            site.Driver.FindElements(By.CssSelector("#members td[data-field='queues'] a")).Single(a => a.Text.EndsWith("~1", StringComparison.Ordinal)).Text);
        Assert.Equal("none", site.Text("#members td[data-field='workers']")); // this app runs no workers
        return Task.CompletedTask;
    });

    [Fact]
    public Task A_partitioned_queue_is_marked_on_the_overview_its_page_shows_its_partitions_and_a_job_of_a_partition_opens() => Browse(async () =>
    {
        const string q = DashboardSite.Partitioned;
        const int p = DashboardSite.PartitionCount;
        var partitions = Enumerable.Range(0, p).Select(i => QueuePartitions.NameOf(q, i)).ToArray();
        // Seven jobs in turn (3, 2, 2 over the partitions), one with an id of its own by a key, one delayed.
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
            ids.Add(Assert.IsType<Pushed>(await site.Linda.PushAsync(new Push(q, JobPayload.FromJson("ship", $"[{i}]")))).JobId);
        var keyed = QueuePartitions.OfKey("tenant-7", p);
        Assert.IsType<Pushed>(await site.Linda.PushAsync(new Push(q, JobPayload.FromJson("ship", "[]")) { Id = "own-order", ConcurrencyKey = "tenant-7" }));
        Assert.IsType<Pushed>(await site.Linda.LaterAsync(q, JobPayload.FromJson("ship", "[]"), TimeSpan.FromHours(1)));
        var stats = new List<QueueStats>();
        foreach (var partition in partitions)
            stats.Add(Assert.IsType<QueueStats>(await site.Linda.GetStatsAsync(partition)));
        Assert.Equal(8, stats.Sum(s => s.Ready));

        // The overview: the queue's row, marked, its counts the partitions' added up, on the partitions' node.
        site.Open("#/");
        var row = $"#queues tr[data-queue='{q}']";
        site.Until(() => site.Text(row + " td[data-field='ready']") == "8", "parts shows 8 ready");
        Assert.Equal("1", site.Text(row + " td[data-field='delayed']"));
        Assert.Contains($"{p} partitions", site.Text(row + " td")); // beside its name
        Assert.StartsWith("akka.tcp://browse@127.0.0.1:", site.Text(row + " td[data-field='node']"));
        Assert.Empty(site.Driver.FindElements(By.CssSelector("#queues tr[data-queue*='~']"))); // no row of a partition of its own

        // The queue's page: a table of its partitions, each with its node and counts.
        site.Open($"#/queues/{q}");
        site.Until(() => site.Driver.FindElements(By.CssSelector("#partitions tbody tr[data-partition]")).Count == p, "the partitions table has three rows");
        Assert.True(site.Driver.FindElement(By.Id("partitions")).Displayed);
        Assert.Equal(partitions, site.Driver.FindElements(By.CssSelector("#partitions tbody tr[data-partition]")).Select(r => r.GetAttribute("data-partition")));
        for (var i = 0; i < p; i++)
        {
            var cells = $"#partitions tr[data-partition='{partitions[i]}'] td";
            Assert.Equal((stats[i].Ready.ToString(), stats[i].Delayed.ToString(), "0", "0"),
                (site.Text(cells + "[data-field='ready']"), site.Text(cells + "[data-field='delayed']"), site.Text(cells + "[data-field='reserved']"), site.Text(cells + "[data-field='buried']")));
            Assert.StartsWith("akka.tcp://browse@127.0.0.1:", site.Text(cells + "[data-field='node']"));
        }
        Assert.Equal("8", site.Text(".card [data-field='ready']"));
        Assert.Equal(p.ToString(), site.Text(".card [data-field='partitions']"));
        site.Until(() => site.Text(".tabs a[data-state='ready']") == "ready (8)", "the ready tab counts every partition's");

        // A job of partition 2 from the queue's listing: its page names its partition.
        var second = ids.First(id => QueuePartitions.NamedBy(id, p) == 2);
        site.Until(() => site.Driver.FindElements(By.CssSelector($"#jobs tr[data-job='{second}'] a")).Count == 1, $"{second} is listed");
        site.Driver.FindElement(By.CssSelector($"#jobs tr[data-job='{second}'] a")).Click();
        site.Until(() => site.Text("dd[data-field='state']") == "ready", $"the job page shows {second} ready");
        Assert.Equal($"Job {second}", site.Text("main h1"));
        Assert.Equal($"{partitions[2]} (partition 2 of {q})", site.Text("dd[data-field='queue']"));
        Assert.EndsWith($"#/jobs/{q}/{second}", site.Driver.Url);

        // A job by its own id (in the partition of its key), opened by its address.
        site.Open($"#/jobs/{q}/own-order");
        site.Until(() => site.Text("dd[data-field='state']") == "ready", "the job page shows own-order ready");
        Assert.Equal($"{partitions[keyed]} (partition {keyed} of {q})", site.Text("dd[data-field='queue']"));

        // A partition's own page, from the job's: its jobs alone, and the queue it is a partition of.
        site.Driver.FindElement(By.CssSelector("dd[data-field='queue'] a")).Click();
        site.Until(() => site.Text("main h1")!.StartsWith(partitions[keyed], StringComparison.Ordinal), "the partition's page");
        Assert.Equal($"· partition {keyed} of {q}", site.Text("#partition-of")!.Trim());
        site.Until(() => site.Text(".tabs a[data-state='ready']") == $"ready ({stats[keyed].Ready})", "the partition's own ready count");
        Assert.False(site.Driver.FindElement(By.Id("partitions")).Displayed);

        // A queue of one actor has no partitions table.
        site.Open("#/queues/counts");
        site.Until(() => site.Text("main h1")!.StartsWith("counts", StringComparison.Ordinal) && site.Text(".tabs a[data-state='ready']") is not null, "the page of counts");
        Assert.False(site.Driver.FindElement(By.Id("partitions")).Displayed);
        Assert.Empty(site.Driver.FindElements(By.Id("partition-of")));
    });

    [Fact]
    public Task From_another_address_without_a_policy_the_dashboard_is_refused() => Browse(() =>
    {
        // As behind a reverse proxy that says the request came from elsewhere.
        site.Driver.ExecuteCdpCommand("Network.enable", new Dictionary<string, object?>());
        site.Driver.ExecuteCdpCommand("Network.setExtraHTTPHeaders", new Dictionary<string, object?> { ["headers"] = new Dictionary<string, object?> { ["X-Forwarded-For"] = "203.0.113.9" } });
        try
        {
            site.Driver.Navigate().GoToUrl(site.BaseUrl);
            Assert.Contains("serves loopback requests only", site.Driver.FindElement(By.TagName("body")).Text);
            Assert.Empty(site.Driver.FindElements(By.Id("page")));
            site.Driver.Navigate().GoToUrl(site.BaseUrl + "api/queues");
            Assert.Contains("\"error\":\"forbidden\"", site.Driver.FindElement(By.TagName("body")).Text);
        }
        finally
        {
            site.Driver.ExecuteCdpCommand("Network.setExtraHTTPHeaders", new Dictionary<string, object?> { ["headers"] = new Dictionary<string, object?>() });
        }
        site.Open("#/"); // and from loopback it is served again
        return Task.CompletedTask;
    });
}
