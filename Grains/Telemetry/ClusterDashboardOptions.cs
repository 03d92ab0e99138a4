using System.Net;
using Microsoft.Extensions.Configuration;

namespace Glance.Grains.Telemetry;

/// <summary>
/// The Orleans Dashboard (<c>Glance:Dashboard</c>): off by default; when enabled, every silo
/// collects grain statistics and every API node serves the view of the whole cluster at
/// <c>/dashboard/</c> on a port of its own, on loopback unless <see cref="Address"/> says otherwise.
/// The dashboard has no authentication of its own: whoever reaches its port sees the cluster
/// (grain types, silos, call rates), never image data. Reach it with an SSH tunnel or a proxy
/// that authenticates.
/// </summary>
public sealed class ClusterDashboardOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Glance:Dashboard";

    /// <summary>The path the dashboard is served under on its port.</summary>
    public const string Path = "/dashboard";

    /// <summary>Collect grain statistics and serve the dashboard.</summary>
    public bool Enabled { get; set; }

    /// <summary>The dashboard's own TCP port (default 8080), never the API's.</summary>
    public int Port { get; set; } = 8080;

    /// <summary>The address it listens on (default 127.0.0.1: this machine only).</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>The settings in <paramref name="configuration"/>.</summary>
    public static ClusterDashboardOptions From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<ClusterDashboardOptions>() ?? new ClusterDashboardOptions();

    /// <summary>Why the options cannot be used, or null when they can.</summary>
    public string? Problem() =>
        Port is < 1 or > 65535 ? $"{Section}:Port must be a TCP port (1-65535)."
        : !IPAddress.TryParse(Address, out _) ? $"{Section}:Address must be an IP address (default 127.0.0.1)."
        : null;
}
