using System.Text.Json;
using Glance.Api.Hosting;
using Glance.Api.Identity;
using Glance.Api.Images;

namespace Glance.Api.Members;

/// <summary>Image sharing: <c>/v2/images/{id}/members</c> (spec section 5).</summary>
public static class MembersApi
{
    /// <summary>Maps the member endpoints.</summary>
    public static IEndpointRouteBuilder MapMembersApi(this IEndpointRouteBuilder app)
    {
        var members = app.MapGroup("/v2/images/{id}/members").WithTags("Members");
        members.MapPost("", AddAsync).WithName("AddMember").WithSummary("Share an image with a project (200)");
        members.MapGet("", ListAsync).RejectsBody().WithName("ListMembers").WithSummary("List an image's members");
        members.MapGet("{member}", ShowAsync).RejectsBody().WithName("ShowMember").WithSummary("Show one member");
        members.MapPut("{member}", UpdateAsync).WithName("UpdateMember").WithSummary("Accept, reject or reset a share (the member)");
        members.MapDelete("{member}", RemoveAsync).RejectsBody().WithName("DeleteMember").WithSummary("Stop sharing with a project (204)");
        return app;
    }

    private static async Task AddAsync(HttpContext context, string id, IGrainFactory grains)
    {
        var grain = grains.Image(id);
        var memberId = await ReadStringAsync(context, "member", "Member to be added not specified");
        var member = await grain.AddMemberAsync(context.Caller(), memberId);
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w => ImageJson.WriteMember(w, member));
    }

    private static async Task ListAsync(HttpContext context, string id, IGrainFactory grains)
    {
        var members = await grains.Image(id).ListMembersAsync(context.Caller());
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("members");
            foreach (var member in members)
            {
                ImageJson.WriteMember(w, member);
            }
            w.WriteEndArray();
            w.WriteString("schema", "/v2/schemas/members");
            w.WriteEndObject();
        });
    }

    private static async Task ShowAsync(HttpContext context, string id, string member, IGrainFactory grains)
    {
        var found = await grains.Image(id).GetMemberAsync(context.Caller(), member);
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w => ImageJson.WriteMember(w, found));
    }

    private static async Task UpdateAsync(HttpContext context, string id, string member, IGrainFactory grains)
    {
        var updated = await grains.Image(id).SetMemberStatusAsync(context.Caller(), member, await ReadStatusAsync(context));
        await ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w => ImageJson.WriteMember(w, updated));
    }

    private static async Task<IResult> RemoveAsync(HttpContext context, string id, string member, IGrainFactory grains)
    {
        await grains.Image(id).RemoveMemberAsync(context.Caller(), member);
        return TypedResults.NoContent();
    }

    /// <summary>The <c>status</c> of a member update body (templates' members read theirs the same way), Glance's 400 otherwise.</summary>
    public static async Task<MemberStatus> ReadStatusAsync(HttpContext context) =>
        WireNames.TryParse(await ReadStringAsync(context, "status", "Status not specified"), out MemberStatus status)
            ? status
            : throw GlanceException.BadRequest("Incorrect request: Status must be \"pending\", \"accepted\" or \"rejected\".");

    /// <summary>A string field of a JSON object body (templates' members read theirs the same way); 400 <paramref name="missing"/> otherwise.</summary>
    public static async Task<string> ReadStringAsync(HttpContext context, string field, string missing)
    {
        using var body = await RequestBody.ReadJsonAsync(context.Request);
        return body?.RootElement is { ValueKind: JsonValueKind.Object } root
            && root.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String
            && value.GetString() is { Length: > 0 } text
                ? text
                : throw GlanceException.BadRequest(missing);
    }
}
