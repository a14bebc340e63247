using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Linda.Hosting;
using Linda.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Linda.Dashboard.Tests.Infrastructure;

/// <summary>
/// The web app the dashboard specs start: ASP.NET Core on a free loopback port, running WithLinda on
/// a cluster node that joins itself (Akka's default cluster profile), with the dashboard at /linda.
/// </summary>
internal static class LindaWebApp
{
    /// <summary>
    /// Starts the app; <paramref name="pipeline"/> adds middleware before the dashboard is mapped;
    /// <paramref name="hocon"/> goes over the defaults.
    /// </summary>
    public static async Task<(WebApplication App, Uri Dashboard)> StartAsync(string systemName, LindaOptions options, string[]? roles = null,
        Action<LindaDashboardOptions>? dashboard = null, Action<IServiceCollection>? services = null, Action<WebApplication>? pipeline = null,
        string? hocon = null)
    {
        var port = TestPrograms.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddLindaClient().AddLindaDashboard();
        services?.Invoke(builder.Services);
        builder.Services.AddAkka(systemName, (akka, _) => akka
            .AddHocon(Akka.Configuration.ConfigurationFactory.ParseString("akka.loglevel = WARNING\n" + hocon), HoconAddMode.Prepend)
            .WithRemoting("127.0.0.1", 0)
            .WithClustering(new ClusterOptions { Roles = roles ?? [] })
            .AddStartup((system, _) => Cluster.Get(system).Join(Cluster.Get(system).SelfAddress))
            .WithLinda(options));
        var app = builder.Build();
        pipeline?.Invoke(app);
        app.MapLindaDashboard("/linda", dashboard);
        await app.StartAsync();
        return (app, new Uri($"http://127.0.0.1:{port}/linda/"));
    }
}
