using Xunit;

namespace Linda.Dashboard.Tests;

/// <summary>Specs that start a web server and a cluster node: one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WebCollection
{
    public const string Name = "web";
}

/// <summary>Specs that drive a real headless Chromium against a web server: one at a time, apart from the others.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BrowserCollection
{
    public const string Name = "browser";
}

/// <summary>Specs that run a sample as a process of its own: one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SamplesCollection
{
    public const string Name = "samples";
}
