namespace Linda.Dashboard;

/// <summary>Who may use the dashboard, and what it may do.</summary>
public sealed class LindaDashboardOptions
{
    /// <summary>
    /// The ASP.NET Core authorization policy every request must satisfy. <b>Default:</b> null: only
    /// requests from a loopback address are served (everything else is refused with 403).
    /// </summary>
    public string? Authorization { get; set; }

    /// <summary>True: every action (kick, delete, pause, resume) is refused with 403; reading stays open.</summary>
    public bool ReadOnly { get; set; }
}
