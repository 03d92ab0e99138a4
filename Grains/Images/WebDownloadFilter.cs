using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Glance.Grains.Images;

/// <summary>
/// Glance's <c>import_filtering_opts</c> for web-download: which URIs the service may fetch.
/// Only http and https, only the allowed ports, only the allowed hosts when a list is set, and
/// never a loopback, link-local or unspecified address unless its host is listed explicitly
/// (so a URI cannot make the service read its own or a cloud's metadata endpoints). Scheme, host
/// and port are checked when the import is requested (400 otherwise) and on every redirect; the
/// addresses when connecting (the task fails): the connection goes to the address that passed, so
/// DNS cannot rebind it.
/// </summary>
public sealed class WebDownloadFilter(IOptions<ImportOptions> options)
{
    /// <summary>The named HttpClient web-download uses (its handler connects through <see cref="ConnectAsync"/>).</summary>
    public const string HttpClientName = "glance.web-download";

    /// <summary>A host as compared with the allowed list: lower case, no IPv6 brackets, no trailing dot.</summary>
    public static string NormalizeHost(string host) =>
        host.Trim().TrimStart('[').TrimEnd(']').TrimEnd('.').ToLowerInvariant();

    /// <summary>The URI when its scheme, host and port pass the filter (no name resolution); null otherwise.</summary>
    public Uri? Check(string? uri)
    {
        if (string.IsNullOrWhiteSpace(uri) || !Uri.TryCreate(uri, UriKind.Absolute, out var parsed))
        {
            return null;
        }
        if (parsed.Scheme is not ("http" or "https"))
        {
            return null;
        }
        var host = NormalizeHost(parsed.Host);
        var hosts = options.Value.Hosts;
        if (host.Length == 0 || (hosts.Count > 0 && !hosts.Contains(host)))
        {
            return null;
        }
        // Uri.Port is the scheme's default when the URI names none.
        return options.Value.Ports.Contains(parsed.Port) ? parsed : null;
    }

    /// <summary>The first address of <paramref name="host"/> the service may connect to, or null when there is none.</summary>
    public async Task<IPAddress?> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        var normalized = NormalizeHost(host);
        if (normalized.Length == 0)
        {
            return null;
        }
        var listed = options.Value.Hosts.Contains(normalized);
        var addresses = IPAddress.TryParse(normalized, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(normalized, cancellationToken);
        foreach (var address in addresses)
        {
            if (listed || !IsInternal(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address))
            {
                return address;
            }
        }
        return null;
    }

    /// <summary>
    /// The connect callback of web-download's handler: resolves and checks the host again, and
    /// connects to exactly the address that passed.
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var endpoint = context.DnsEndPoint;
        var address = await ResolveAsync(endpoint.Host, cancellationToken)
            ?? throw new HttpRequestException($"URI does not pass filtering: host {endpoint.Host} is not allowed.");
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static bool IsInternal(IPAddress address)
    {
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return true;
        }
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var bytes = address.GetAddressBytes();
            return bytes[0] == 169 && bytes[1] == 254 || bytes[0] == 0;
        }
        return address.IsIPv6LinkLocal;
    }
}
